package org.kextnet.it;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * What one test made (namespaces, kernels, services): closed after it in the reverse order of making, each
 * one even when the test or an earlier close failed, so that no namespace or device outlives its test.
 */
final class Teardown implements AutoCloseable {
    private final Deque<AutoCloseable> made = new ArrayDeque<>();

    /** Registers {@code resource} to be closed after the test; returns it. */
    <T extends AutoCloseable> T add(T resource) {
        made.push(resource);
        return resource;
    }

    /** Closes everything registered, last made first; rethrows the first failure with the others suppressed. */
    @Override public void close() throws Exception {
        Exception first = null;
        while (!made.isEmpty()) {
            try {
                made.pop().close();
            } catch (Exception e) {
                if (first == null) first = e;
                else first.addSuppressed(e);
            }
        }
        if (first != null) throw first;
    }
}
