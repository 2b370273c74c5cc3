package org.kextnet.cli;

/**
 * The exit statuses of every kextnet command, one meaning each (docs/commands.md, "Conventions"; each command's
 * --help ends with {@link #FOOTER}). Ranges that would collide are kept apart: the kernel's errno values (1-106 in xnu's
 * numbering) overlap 1, 2 and kern_loader's codes, so a kernel refusal exits {@link #KERNEL_REFUSED} with the errno's
 * name on stderr instead of the number itself; a server's own reply code likewise.
 */
final class ExitCodes {
    private ExitCodes() {}

    /** Done. */
    static final int OK = 0;
    /**
     * The command could not do its work: kern_loader cannot be reached or went away, a daemon or a configured kernel
     * could not start (socket, configuration file), the embedded run's checks failed, a file could not be read.
     */
    static final int FAILED = 1;
    /** The command line is wrong: an unknown or missing option or argument (picocli's own code for it). */
    static final int USAGE = 2;
    /** The kernel refused or failed a request (ENOENT, EINVAL, ETIMEDOUT...): the errno's name is on stderr. */
    static final int KERNEL_REFUSED = 3;
    /** {@code port send}: the server answered with a non-zero return code (printed). */
    static final int SERVER_CODE = 4;
    /** A fatal error (OutOfMemoryError...) in a daemon or kernel thread: the process exits for a supervisor (sysexits EX_SOFTWARE). */
    static final int FATAL = 70;
    // 101-129: kern_loader's codes (LoaderError), unchanged from the RPC.

    /** The table, as every command's --help ends (lines short enough that help does not wrap them). */
    static final String[] FOOTER = {"", "Exit status:",
            "  0        done",
            "  1        failed: kern_loader unreachable or gone, a start or a check failed",
            "  2        usage: an unknown or missing option or argument",
            "  3        the kernel refused (the errno is named on stderr)",
            "  4        port send: the server answered with a non-zero code",
            "  70       a fatal error (docs/reliability.md)",
            "  101-129  kern_loader's codes (docs/kern_loader.md)",
            "Errors are printed once, on stderr (docs/commands.md)."};
}
