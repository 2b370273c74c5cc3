package org.kextnet.kpi.protocol;

import java.util.List;

import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Registration;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.DemuxDescriptor;
import org.kextnet.kpi.net.Ifnet;
import org.kextnet.kpi.net.IfnetFamily;

/** Plumbers, protocol attachments and protocol input ({@code proto_*}, {@code ifnet_attach_protocol}). */
public interface ProtocolKpi {
    /** A registered plumber. */
    interface PlumberRef extends Registration {
        int protocolFamily();

        IfnetFamily interfaceFamily();

        /**
         * Unregisters the plumber ({@code proto_unregister_plumber}): it is called no more, and it unplumbs
         * the protocol from every interface it was plumbed on. Idempotent.
         */
        void unregister();
    }

    /** A protocol attached to an interface. */
    interface AttachmentRef extends Registration {
        Ifnet ifnet();

        int protocolFamily();

        List<DemuxDescriptor> demux();
    }

    /** A registered protocol input. */
    interface InputRef extends Registration {
        int protocolFamily();

        /** Same as {@link ProtocolKpi#unregisterInput}. */
        void unregister();
    }

    /**
     * Registers a plumber for ({@code protocolFamily}, {@code interfaceFamily}) ({@code proto_register_plumber})
     * and plumbs every attached interface of that family at once.
     * @throws KpiException EEXIST if a plumber for that pair is registered
     */
    PlumberRef registerPlumber(int protocolFamily, IfnetFamily interfaceFamily, ProtocolPlumber plumber)
            throws KpiException;

    /**
     * Attaches a protocol to an interface ({@code ifnet_attach_protocol}); the interface's demux learns its
     * descriptors and {@code KEV_DL_PROTO_ATTACHED} is posted.
     * @throws KpiException EEXIST (already attached), ENXIO (interface detached), EINVAL (no descriptors on a
     *         family that demuxes by them), or the interface's {@code addProto} error
     */
    AttachmentRef attachProtocol(Ifnet ifp, int protocolFamily, List<DemuxDescriptor> demux, ProtocolHandler handler)
            throws KpiException;

    /**
     * Detaches a protocol from an interface ({@code ifnet_detach_protocol}); returns at once;
     * {@link ProtocolHandler#detached} follows once in-flight calls have returned; posts
     * {@code KEV_DL_PROTO_DETACHED}.
     * @return 0, or ENOENT if the protocol is not attached
     */
    int detachProtocol(Ifnet ifp, int protocolFamily);

    /**
     * Registers the input of a protocol family ({@code proto_register_input}).
     * @throws KpiException EEXIST if the family has one
     */
    InputRef registerInput(int protocolFamily, ProtocolInput input) throws KpiException;

    /** Unregisters it; its {@code detached} follows after in-flight calls. @return 0 or ENOENT */
    int unregisterInput(int protocolFamily);

    /**
     * Delivers a packet to its family's input from the input path ({@code proto_input}). {@code m} starts
     * at the network header, with its receiving interface set.
     * Takes ownership only on success; on error the caller frees.
     * @return 0, or ENOENT (no input registered for the family)
     */
    int protoInput(int protocolFamily, Mbuf m);

    /**
     * Delivers a packet to its family's input from anywhere ({@code proto_inject}); same rules as
     * {@link #protoInput}.
     */
    int protoInject(int protocolFamily, Mbuf m);
}
