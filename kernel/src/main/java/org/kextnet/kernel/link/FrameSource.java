package org.kextnet.kernel.link;

import org.jctools.queues.MessagePassingQueue;
import org.kextnet.kernel.buf.Mbuf;

/**
 * Hands the frames of an array to a ring's batch enqueue ({@code fill}), one after the other from a start
 * index, clearing each slot it hands over. One per packet thread ({@link org.kextnet.kernel.PacketContext}),
 * reused for every batch: a batch enqueue allocates nothing.
 */
public final class FrameSource implements MessagePassingQueue.Supplier<Mbuf> {
    private Mbuf[] frames;
    private int next;

    /** Starts at {@code frames[from]}. */
    FrameSource from(Mbuf[] frames, int from) {
        this.frames = frames;
        this.next = from;
        return this;
    }

    @Override public Mbuf get() {
        Mbuf m = frames[next];
        frames[next++] = null;
        return m;
    }

    /** Forgets the array. */
    void done() { frames = null; }
}
