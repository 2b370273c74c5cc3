package org.kextnet.cli;

/** SIGHUP for the daemon, through the JDK's {@code sun.misc.Signal} (module jdk.unsupported). */
final class Signals {
    private Signals() {}

    /** Runs {@code action} on each SIGHUP; quietly does nothing where the signal cannot be handled. */
    @SuppressWarnings("removal")
    static void onHangup(Runnable action) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("HUP"), s -> action.run());
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            System.err.println("kern_loader: SIGHUP not available: " + e.getMessage());
        }
    }
}
