package org.kextnet.loader.server;

import java.util.Map;
import java.util.TreeMap;

/**
 * The "kernel address space" kern_loader allocates servers into: a first-fit allocator of page-aligned
 * ranges, so each server has a stable address and size to show in status, as the original did. Only
 * bookkeeping: nothing is mapped.
 */
public final class VmMap {
    public static final long PAGE = 0x1000;
    private final long base, limit;
    private final TreeMap<Long, Long> used = new TreeMap<>();

    public VmMap(long base, long size) {
        this.base = base;
        this.limit = base + size;
    }

    /** Allocates {@code bytes} rounded up to pages; -1 if the map is full. */
    public synchronized long allocate(long bytes) {
        long size = round(bytes);
        long at = base;
        for (Map.Entry<Long, Long> e : used.entrySet()) {
            if (e.getKey() - at >= size) break;
            at = e.getKey() + e.getValue();
        }
        if (at + size > limit) return -1;
        used.put(at, size);
        return at;
    }

    public synchronized void free(long address) {
        used.remove(address);
    }

    public static long round(long bytes) {
        return Math.max(PAGE, (bytes + PAGE - 1) & -PAGE);
    }
}
