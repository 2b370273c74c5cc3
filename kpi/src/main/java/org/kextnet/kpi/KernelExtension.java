package org.kextnet.kpi;

/**
 * The entry object of a network kernel extension (the {@code kmod_info} start and stop routines).
 * The loader instantiates the class named in the extension's script with its public no-argument
 * constructor, on the loader's thread, and calls {@link #start} once. Both methods run on a loader thread,
 * never on a packet thread, and may block briefly.
 */
public interface KernelExtension {
    /**
     * Starts the extension: registers its filters, controls, plumbers, interfaces and subscriptions through
     * {@code kpi}. The handle stays valid until the extension is unloaded; keep it.
     *
     * <p>On failure, undo what was done and return an errno (xnu: {@code KERN_FAILURE}); the extension is then
     * not loaded, and the kernel removes anything it still finds registered for it.
     *
     * @return 0 if started, else an errno
     */
    int start(Kpi kpi);

    /**
     * Asks the extension to stop. Start removing every registration (all removals are asynchronous) and
     * return {@link Errno#EBUSY} while any is still live, that is, until each final {@code detached} or
     * {@code unregistered} callback has run, or while a kernel-control client is still connected. The loader
     * calls again later (as {@code kextunload} is retried), so the first call should only start the removal.
     *
     * <p>Optional; the default removes every registration still recorded for this extension and returns 0
     * once they are all gone, or {@link Errno#EBUSY} before.
     *
     * @return 0 when nothing of the extension remains registered, or {@link Errno#EBUSY} to refuse for now
     */
    default int stop(Kpi kpi) {
        return kpi.removeAll();
    }
}
