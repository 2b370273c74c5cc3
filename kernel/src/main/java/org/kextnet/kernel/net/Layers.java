package org.kextnet.kernel.net;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kpi.net.FrameInfo;

/**
 * Every contract between the layers of the stack, in one place (as gVisor's {@code stack/registration.go}).
 * Data goes down on output and up on input; each contract is what a layer offers the one above it, or asks
 * of the one below, and nothing else passes between them:
 *
 * <pre>
 *   transport (inet.udp, inet.tcp, extensions' protocols)
 *        ^ {@link TransportProtocol}: a datagram for this host, registered in IPv4's protocol switch
 *   network (inet: IPv4, ICMP; its plumbing onto each interface)
 *        ^ {@link NetworkProtocol}: a demuxed frame, or a vector of IPv4 packets (the vector path)
 *        v {@link NextHopResolver}: a next hop to a link address (ARP, later IPv6 neighbour discovery)
 *        v {@link PreOutput}: per packet, just before framing (IPv4's output filters)
 *   link (Ethernet, raw IP, an extension's framer and demux)
 *        ^ {@link LinkLayer}: framing and demux for an interface family
 *   device (TUN, TAP, memory wire, loopback, an extension's interface)
 *          {@link Driver} (and {@link BatchDriver}): frames in and out
 * </pre>
 *
 * Every method that takes a {@link Packet} takes ownership of it unless it says otherwise: it passes the
 * packet on or frees it.
 */
public final class Layers {
    private Layers() {}

    /**
     * The device below an interface: it transmits finished frames and feeds received ones to
     * {@link Interface#input}. Loopback, memory wires, TUN and TAP implement it.
     */
    public interface Driver {
        /**
         * Sends one frame. Takes ownership of {@code m} whatever happens: a driver that cannot send frees it
         * and returns false, and the caller counts the drop.
         */
        boolean transmit(PacketContext ctx, Packet m);

        /** Starts receiving for {@code ifp} (reader threads and the like). */
        default void start(Interface ifp) {}

        /** Stops receiving and releases the device. Idempotent. */
        default void stop() {}

        /** A short description for {@code ifconfig}. */
        default String describe() { return getClass().getSimpleName(); }

        /**
         * Whether the device hands frames over in memory and cannot corrupt them (loopback, a memory wire, whose
         * frames stay in this process): the stack then marks what it sends through it as checksummed, and the
         * receiving side skips verifying the checksums (a hardware checksum offload's effect). Default: no.
         */
        default boolean trusted() { return false; }

        /**
         * TCP segmentation offload: the largest IP packet (header included) carrying a TCP segment that the device
         * takes and cuts into segments of the packet's {@link Packet#tsoSegmentSize()} itself (with the checksums:
         * such a packet is {@link Packet#CSUM_PARTIAL}), or 0 if it takes none. A device that takes them also
         * finishes the checksum of any other {@code CSUM_PARTIAL} packet. Default: 0.
         */
        default int tsoMaxSize() { return 0; }
    }

    /**
     * A driver whose transmit queue a thread can claim places in for a run of frames, with one atomic operation
     * for the run instead of one per frame. The vector path claims a place for each packet of a run, then hands
     * each frame over the moment it is framed and its filters have passed it; the device can send a frame as
     * soon as it and those before it are placed.
     *
     * <p>A claim is the thread's ({@link TxClaim#forThisThread()}). While it is open, frames the same thread sends
     * through {@link #transmit(PacketContext, Packet)} (a filter re-injecting a packet from its callback) take the
     * claim's next places too, so that they leave in the order the one-packet path would send them. Frames of
     * other threads queue after the claim.
     */
    public interface BatchDriver extends Driver {
        /**
         * Opens {@code claim} on up to {@code n} places of this device's queue; returns how many, 0 when the
         * queue is full (and then no claim is open). Must be {@linkplain #release released}, in a {@code finally}:
         * the device waits at the claim's first unused place.
         */
        int claim(TxClaim claim, int n);

        /**
         * Sends one frame into the open claim's next place; the caller has checked there is one
         * ({@code claim.room() > 0}). Takes ownership; true if sent (a lossy device may still lose it).
         */
        boolean transmitClaimed(PacketContext ctx, TxClaim claim, Packet m);

        /** Closes the claim: the places it did not use are skipped. */
        void release(TxClaim claim);
    }

    /**
     * Framing and demultiplexing for one interface family: strips the link header of received frames, finds
     * the attached protocol they belong to (the interface's {@link DemuxTable}), runs the interface filters and
     * hands the packet to the protocol ({@link ProtocolAttachment#input}); builds the link header of outgoing
     * packets.
     */
    public interface LinkLayer {
        /** A received frame (data starts at the link header). */
        void input(PacketContext ctx, Interface ifp, Packet m);

        /**
         * A batch of received frames of an interface that is up, inside the reader's read-side section. Takes
         * ownership of all {@code n} and clears their slots.
         *
         * <p>When the protocol this layer's demux gives IPv4 to takes vectors ({@link NetworkProtocol#takesVectors})
         * and no interface filter watches input, the frames {@link #stripIpv4} accepts go to it as vectors (the
         * vector path, see docs/architecture.md); every other frame goes through {@link Interface#receive} on its
         * own, after the vector gathered before it, so that the batch keeps its order.
         */
        default void input(PacketContext ctx, Interface ifp, Packet[] batch, int n) {
            ProtocolAttachment inet = ifp.protocols().inet;
            if (inet == null || !inet.takesVectors() || !demuxesIpv4To(ifp.protocols(), inet) || ifp.filters().hasInput()) {
                ifp.receiveEach(ctx, batch, n);
                return;
            }
            NetworkProtocol ip = inet.kernelHandler();
            Packet[] vector = ctx.scratch(GATHER);
            int k = 0;
            for (int i = 0; i < n; i++) {
                Packet m = batch[i];
                batch[i] = null;
                if (stripIpv4(ifp, m)) {
                    m.setRcvif(ifp);
                    vector[k++] = m;
                    if (k == vector.length) {
                        ip.input(ctx, ifp, vector, k);
                        k = 0;
                    }
                    continue;
                }
                if (k > 0) {
                    ip.input(ctx, ifp, vector, k);
                    k = 0;
                }
                ifp.receive(ctx, m);
            }
            if (k > 0) ip.input(ctx, ifp, vector, k);
        }

        /** Whether {@code demux} gives IPv4 packets to {@code inet}; false (the default) keeps batches off the vector path. */
        default boolean demuxesIpv4To(DemuxTable demux, ProtocolAttachment inet) { return false; }

        /**
         * The vector path's test of one received frame: true if it is an IPv4 packet for this host's link
         * address, with its link header now stripped; false leaves the frame as it was, for {@link Interface#receive}.
         */
        default boolean stripIpv4(Interface ifp, Packet m) { return false; }

        /** Whether the network layer must resolve a next hop to a link address before {@link #output} (Ethernet: ARP). */
        default boolean resolvesNextHops() { return false; }

        /**
         * A network-layer packet to frame and send to {@code destination}: the link address a
         * {@link NextHopResolver} gave for the next hop where {@link #resolvesNextHops} says so, else the next
         * hop itself. {@code type} is the packet's EtherType ({@code 0x0800} IPv4, {@code 0x0806} ARP).
         */
        void output(PacketContext ctx, Interface ifp, Packet m, long destination, int type);

        /**
         * IPv4 packets {@code from} (inclusive) to {@code to} of {@code packets} to frame and send, each to its
         * next hop, as {@link #output} one by one, each after passing {@code pre} (null: none) just before it is
         * framed, its next hop resolved by {@code resolver} where this layer needs it. Takes ownership of them
         * all and clears their slots.
         */
        default void output(PacketContext ctx, Interface ifp, Packet[] packets, int[] nextHops, int from, int to,
                            PreOutput pre, NextHopResolver resolver) {
            for (int i = from; i < to; i++) {
                Packet m = packets[i];
                packets[i] = null;
                if (pre != null && !pre.pass(ctx, m)) continue;
                long dst = nextHops[i] & 0xffffffffL;
                if (resolvesNextHops()) {
                    dst = resolver.resolve(ctx, ifp, m, nextHops[i]);
                    if (dst < 0) continue; // held until the neighbour answers
                }
                output(ctx, ifp, m, dst, ETHERTYPE_IPV4);
            }
        }

        /**
         * Prepends the link header an extension protocol's pre-output described ({@code ifnet_framer}).
         * @return 0, or an errno after which the packet was freed
         */
        int frame(PacketContext ctx, Interface ifp, Packet m, FrameInfo frame);

        /** Bytes of link header this layer prepends. */
        int headerLength();
    }

    /** IPv4's EtherType, the frame type of the kernel's own IPv4 output. */
    public static final int ETHERTYPE_IPV4 = 0x0800;

    /** Packets in one vector of the vector path. */
    public static final int VECTOR = 64;

    /** The link layer's gathering vector on each thread: received IPv4 packets on their way up as one vector. */
    static final Scratch<Packet[]> GATHER = Scratch.of(() -> new Packet[VECTOR]);

    /**
     * The packet path of a protocol the kernel itself attaches to an interface (its IPv4, with ARP): called with
     * the thread's {@link PacketContext}, so the kernel's own protocols pay no context lookup and no guard.
     * An attachment whose handler implements this is called through it ({@link ProtocolAttachment}); an
     * extension's handler goes through the KPI's {@code ProtocolHandler}, guarded.
     */
    public interface NetworkProtocol {
        /** A frame demux gave to the protocol; data starts after the frame header at {@code frameHeader}. */
        void input(PacketContext ctx, Interface ifp, Packet m, int frameHeader);

        /**
         * A vector of received IPv4 packets ({@code packets[0..n)}, each starting at its IP header, link header
         * stripped): takes ownership of them all and clears their slots. Only called when {@link #takesVectors}.
         */
        default void input(PacketContext ctx, Interface ifp, Packet[] packets, int n) {
            for (int i = 0; i < n; i++) {
                Packet m = packets[i];
                packets[i] = null;
                input(ctx, ifp, m, m.offset());
            }
        }

        /** Whether the link layers may hand this protocol vectors of IPv4 packets (the vector path). */
        default boolean takesVectors() { return false; }

        /** Pre-output, framing and sending of a packet to {@code destination} (the IPv4 next hop). */
        void output(PacketContext ctx, Interface ifp, Packet m, long destination);

        /**
         * Packets {@code from} to {@code to} of {@code packets} of a forwarding vector, each to its next hop, after
         * {@code pre}: as {@link #output} one by one by default.
         */
        default void output(PacketContext ctx, Interface ifp, Packet[] packets, int[] nextHops, int from, int to, PreOutput pre) {
            for (int i = from; i < to; i++) {
                Packet m = packets[i];
                packets[i] = null;
                if (pre == null || pre.pass(ctx, m)) output(ctx, ifp, m, nextHops[i] & 0xffffffffL);
            }
        }
    }

    /**
     * How a network-layer next hop becomes a link-layer destination on one interface: ARP for IPv4 (IPv6's
     * neighbour discovery later).
     */
    @FunctionalInterface
    public interface NextHopResolver {
        /**
         * The link address of {@code nextHop} on {@code ifp}, or -1 when it is not known yet: the resolver then
         * took {@code m} (it holds it until the neighbour answers, or drops and counts it).
         */
        long resolve(PacketContext ctx, Interface ifp, Packet m, int nextHop);
    }

    /**
     * What the network layer does to each packet of an output vector just before the link layer frames it:
     * IPv4's output filters. Running it there, packet by packet, keeps xnu's per-packet order: a filter sees a
     * packet only after every packet before it has been handed to the driver, so a packet it takes and
     * re-injects later can never overtake them.
     */
    @FunctionalInterface
    public interface PreOutput {
        /** True to frame and send {@code m}; false if it is no longer the caller's (taken or dropped). */
        boolean pass(PacketContext ctx, Packet m);
    }

    /**
     * A transport protocol of IPv4 (ICMP, UDP, TCP, or an extension's), registered by protocol number in
     * IPv4's protocol switch ({@code inet.ProtocolSwitch}, BSD's {@code protosw}): IPv4 input hands it each
     * datagram for this host after reassembly and the IP input filters.
     */
    public interface TransportProtocol {
        /**
         * A datagram for this host: {@code m} starts at its IPv4 header, {@code headerLength} bytes long, and
         * holds the whole datagram. Takes ownership.
         */
        void input(PacketContext ctx, Packet m, int headerLength);

        /**
         * An ICMP error about a datagram this protocol sent ({@code pr_ctlinput}): {@code m} holds the ICMP
         * message, its data from the error's own IP header; the quoted IP header starts at {@code quoted} (relative
         * to {@code m.offset()}) and at least its header and 8 bytes of the transport header follow. Does not take
         * ownership. By default, nothing.
         *
         * @param type the ICMP type (3 unreachable, 11 time exceeded, 12 parameter problem)
         * @param mtu  the next-hop MTU of "fragmentation needed" (type 3 code 4), else 0
         */
        default void error(PacketContext ctx, int type, int code, int mtu, Packet m, int quoted) {}
    }
}
