package org.kextnet.cli;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.OptionalLong;

/**
 * One daemon per socket: the files beside a kern_loader socket and the lock that makes them one daemon's. For a socket
 * {@code DIR/NAME.sock} they are {@code DIR/NAME.lock} (an exclusive lock held for the daemon's life; the system
 * releases it when the process ends, however it ends), {@code DIR/NAME.pid} and {@code DIR/NAME.log} ({@code NAME} is
 * the socket's whole name when it does not end in {@code .sock}). The lock file is never removed: removing it would let
 * a second daemon lock a new file while the first still holds the old one.
 */
final class DaemonFiles implements AutoCloseable {
    private final Path socket, pidFile;
    private final FileChannel lockChannel;
    private final FileLock lock;

    private DaemonFiles(Path socket, Path pidFile, FileChannel lockChannel, FileLock lock) {
        this.socket = socket;
        this.pidFile = pidFile;
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /** A start refused or failed, with the message for stderr. */
    static final class StartFailure extends Exception {
        /** Whether the start was refused because another daemon holds the socket's lock. */
        final boolean held;

        StartFailure(String message) {
            this(message, false);
        }

        StartFailure(String message, boolean held) {
            super(message);
            this.held = held;
        }
    }

    static Path lockFileFor(Path socket) { return beside(socket, ".lock"); }
    static Path pidFileFor(Path socket) { return beside(socket, ".pid"); }
    static Path logFileFor(Path socket) { return beside(socket, ".log"); }

    private static Path beside(Path socket, String suffix) {
        String name = socket.getFileName().toString();
        return socket.resolveSibling((name.endsWith(".sock") ? name.substring(0, name.length() - 5) : name) + suffix);
    }

    /**
     * Takes the socket's lock for this process.
     * @throws StartFailure if another process holds it (a kern_loader runs on this socket: the message names its pid), or
     *         the lock file cannot be made
     */
    static DaemonFiles lock(Path socket, Path pidFile) throws StartFailure {
        Path lockFile = lockFileFor(socket);
        FileChannel ch;
        try {
            Files.createDirectories(socket.getParent());
            ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new StartFailure("cannot lock " + lockFile + ": " + e);
        }
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (IOException | OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null) {
            close(ch);
            OptionalLong pid = pid(pidFile);
            throw new StartFailure("a kern_loader" + (pid.isPresent() ? " (pid " + pid.getAsLong() + ")" : "") + " already runs on " + socket
                    + " (it holds " + lockFile + "); stop it first", true);
        }
        return new DaemonFiles(socket, pidFile, ch, lock);
    }

    /**
     * The pid of the daemon holding {@code socket}'s lock, if one does (0 if its pid file does not say).
     * @throws StartFailure if the lock file cannot be made
     */
    static OptionalLong running(Path socket, Path pidFile) throws StartFailure {
        try (DaemonFiles ignored = lock(socket, pidFile)) {
            return OptionalLong.empty();
        } catch (StartFailure e) {
            if (!e.held) throw e;
            OptionalLong pid = pid(pidFile);
            return pid.isPresent() ? pid : OptionalLong.of(0);
        }
    }

    /** The pid in {@code pidFile}, if it holds one. */
    static OptionalLong pid(Path pidFile) {
        try {
            return OptionalLong.of(Long.parseLong(Files.readString(pidFile).strip()));
        } catch (IOException | NumberFormatException e) {
            return OptionalLong.empty(); // none, or not yet written
        }
    }

    /** Records this process as the socket's daemon. */
    void writePid() throws IOException {
        Files.writeString(pidFile, ProcessHandle.current().pid() + "\n");
    }

    /** The socket and pid file are this daemon's (it holds the lock): removes them, then lets go of the lock. */
    @Override public void close() {
        if (lock.isValid()) {
            try {
                Files.deleteIfExists(pidFile);
            } catch (IOException ignored) {
                // best effort
            }
        }
        close(lockChannel); // releases the lock
    }

    /** Removes the socket too (a daemon that ends without its server's own clean-up, after a fatal error). */
    void removeSocket() {
        try {
            if (lock.isValid()) Files.deleteIfExists(socket);
        } catch (IOException ignored) {
            // best effort
        }
    }

    private static void close(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
