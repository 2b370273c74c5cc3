package org.kextnet.loader.port;

/** A loaded server's entry for one port: calls the port's MAP routine with a message. */
@FunctionalInterface
public interface Dispatcher {
    /** Delivers {@code m}; must not throw (faults are contained and turned into error replies). */
    void dispatch(Message m);
}
