package org.kextnet.kpi.net;

import java.util.List;
import java.util.Objects;

import org.kextnet.kpi.event.KernelEvent;
import org.kextnet.kpi.mbuf.Mbuf;

/**
 * The parameters of an interface an extension creates ({@code ifnet_init_params}): its identity and its
 * driver callbacks. Build one with {@link #builder}. Only {@code output} is required; every other callback
 * is optional and, when absent, the kernel uses the family's standard behaviour (Ethernet II demux and
 * framing for {@link IfnetFamily#ETHERNET}; raw IP by version nibble for {@link IfnetFamily#TUN}).
 *
 * <p>Callbacks run on kernel threads, concurrently, without kernel locks held. After
 * {@link InterfaceKpi#detach} the kernel calls them no more once {@link Detached#detached} has run.
 *
 * @param name       the name without unit ("ktun")
 * @param unit       the unit; the interface is called {@code name + unit}
 * @param family     the interface family
 * @param type       the interface type ({@code IFT_*})
 * @param mtu        the initial MTU
 * @param lladdr     the link-layer address (48 bits), or 0
 * @param uniqueId   identifies the interface across re-allocation, or null
 * @param headerLength bytes of frame header in front of each received frame, or -1 for the family's (14 on
 *                   Ethernet, 0 otherwise)
 * @param output     sends a frame (required)
 * @param demux      finds a frame's protocol family, or null for the family's standard demux
 * @param addProto   told when a protocol attaches, or null
 * @param delProto   told when a protocol detaches, or null
 * @param framer     prepends the frame header, or null for the family's standard framing
 * @param ioctl      handles interface ioctls, or null
 * @param event      observes events about the interface, or null
 * @param checkMulti validates multicast addresses, or null
 * @param detached   the last call, or null
 */
public record IfnetInit(String name, int unit, IfnetFamily family, int type, int mtu, long lladdr, String uniqueId,
                        int headerLength, Output output, Demux demux, AddProto addProto, DelProto delProto, Framer framer,
                        Ioctl ioctl, Event event, CheckMulti checkMulti, Detached detached) {

    /** Sends one frame ({@code ifnet_output_func}). Fast path: must not block. */
    @FunctionalInterface
    public interface Output {
        /**
         * Called on the sending thread with a finished frame (link header included). Takes ownership: the
         * driver frees the frame whatever happens.
         * @return 0, or an errno (counted as an output error)
         */
        int output(Ifnet ifp, Mbuf m);
    }

    /** Finds the protocol family of a received frame ({@code ifnet_demux_func}). */
    @FunctionalInterface
    public interface Demux {
        /**
         * Called on the receiving thread. {@code m} starts after the frame header, which lies in
         * {@code m.segment()} from {@code frameHeader} to {@code m.offset()}. Does not take ownership unless
         * it returns {@link org.kextnet.kpi.Errno#EJUSTRETURN}.
         * <table><caption>result</caption>
         * <tr><td>a protocol family &gt; 0</td><td>the frame belongs to it</td></tr>
         * <tr><td>0</td><td>no attached protocol wants it: filters still see it, then it is dropped</td></tr>
         * <tr><td>{@code EJUSTRETURN}</td><td>demux took the frame</td></tr>
         * </table>
         */
        int demux(Ifnet ifp, Mbuf m, int frameHeader);
    }

    /** Told when a protocol attaches ({@code ifnet_add_proto_func}), so that demux can recognise its frames. */
    @FunctionalInterface
    public interface AddProto {
        /** @return 0 to accept, or an errno to refuse the attachment */
        int addProto(Ifnet ifp, int protocolFamily, List<DemuxDescriptor> descriptors);
    }

    /** Told when a protocol detaches ({@code ifnet_del_proto_func}). */
    @FunctionalInterface
    public interface DelProto {
        int delProto(Ifnet ifp, int protocolFamily);
    }

    /** Prepends the frame header ({@code ifnet_framer_func}). */
    @FunctionalInterface
    public interface Framer {
        /**
         * Called on the sending thread after the protocol's {@code preOutput} filled {@code frame}.
         * Does not take ownership unless it returns {@link org.kextnet.kpi.Errno#EJUSTRETURN}.
         * @return 0 (framed; continue), EJUSTRETURN (taken), or an errno (the kernel frees the packet)
         */
        int framer(Ifnet ifp, Mbuf m, FrameInfo frame);
    }

    /** Handles an interface ioctl ({@code ifnet_ioctl_func}). */
    @FunctionalInterface
    public interface Ioctl {
        /** @return 0 if handled, {@link org.kextnet.kpi.Errno#EOPNOTSUPP} if not, or an error */
        int ioctl(Ifnet ifp, long command, Object argument);
    }

    /** Observes events posted about the interface ({@code ifnet_event_func}). */
    @FunctionalInterface
    public interface Event {
        void event(Ifnet ifp, KernelEvent event);
    }

    /** Validates a multicast address ({@code ifnet_check_multi}). */
    @FunctionalInterface
    public interface CheckMulti {
        /** @return 0, {@link org.kextnet.kpi.Errno#EADDRNOTAVAIL} to reject, {@link org.kextnet.kpi.Errno#EOPNOTSUPP} if unknown */
        int checkMulti(Ifnet ifp, byte[] address);
    }

    /** The last call ({@code ifnet_detached_func}): after it the kernel never calls the interface again. */
    @FunctionalInterface
    public interface Detached {
        void detached(Ifnet ifp);
    }

    public IfnetInit {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(family, "family");
        Objects.requireNonNull(output, "output");
        if (mtu < 68 || mtu > 65535) throw new IllegalArgumentException("MTU " + mtu);
        if (unit < 0) throw new IllegalArgumentException("unit " + unit);
    }

    /** A builder for an interface named {@code name} (e.g. "ktun") with unit {@code unit}. */
    public static Builder builder(String name, int unit, IfnetFamily family, Output output) {
        return new Builder(name, unit, family, output);
    }

    /** The full name the interface gets: name followed by unit ("ktun0"). */
    public String fullName() { return name + unit; }

    /** Builds {@link IfnetInit}. */
    public static final class Builder {
        private final String name;
        private final int unit;
        private final IfnetFamily family;
        private final Output output;
        private int type = Ifnet.IFT_OTHER;
        private int mtu = 1500;
        private long lladdr;
        private String uniqueId;
        private int headerLength = -1;
        private Demux demux;
        private AddProto addProto;
        private DelProto delProto;
        private Framer framer;
        private Ioctl ioctl;
        private Event event;
        private CheckMulti checkMulti;
        private Detached detached;

        private Builder(String name, int unit, IfnetFamily family, Output output) {
            this.name = name;
            this.unit = unit;
            this.family = family;
            this.output = output;
        }

        public Builder type(int t) { type = t; return this; }
        public Builder mtu(int m) { mtu = m; return this; }
        /** The link-layer address (48 bits) for Ethernet-family interfaces. */
        public Builder lladdr(long a) { lladdr = a; return this; }
        /** An id that identifies the interface across detach and re-allocation; EEXIST while one with it is attached. */
        public Builder uniqueId(String id) { uniqueId = id; return this; }
        /** Bytes of frame header in front of each received frame (for an own demux and framer). */
        public Builder headerLength(int n) { headerLength = n; return this; }
        public Builder demux(Demux d) { demux = d; return this; }
        public Builder addProto(AddProto a) { addProto = a; return this; }
        public Builder delProto(DelProto d) { delProto = d; return this; }
        public Builder framer(Framer f) { framer = f; return this; }
        public Builder ioctl(Ioctl i) { ioctl = i; return this; }
        public Builder event(Event e) { event = e; return this; }
        public Builder checkMulti(CheckMulti c) { checkMulti = c; return this; }
        public Builder detached(Detached d) { detached = d; return this; }

        public IfnetInit build() {
            return new IfnetInit(name, unit, family, type, mtu, lladdr, uniqueId, headerLength, output, demux, addProto, delProto,
                    framer, ioctl, event, checkMulti, detached);
        }
    }
}
