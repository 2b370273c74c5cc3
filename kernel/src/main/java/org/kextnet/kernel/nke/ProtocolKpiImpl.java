package org.kextnet.kernel.nke;

import java.util.List;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.hook.Owner;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.protocol.Protocols;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.DemuxDescriptor;
import org.kextnet.kpi.net.Ifnet;
import org.kextnet.kpi.net.IfnetFamily;
import org.kextnet.kpi.protocol.ProtocolHandler;
import org.kextnet.kpi.protocol.ProtocolInput;
import org.kextnet.kpi.protocol.ProtocolKpi;
import org.kextnet.kpi.protocol.ProtocolPlumber;

/** {@link ProtocolKpi} bound to one extension. */
final class ProtocolKpiImpl implements ProtocolKpi {
    private final Protocols protocols;
    private final Owner owner;

    ProtocolKpiImpl(Protocols protocols, Owner owner) {
        this.protocols = protocols;
        this.owner = owner;
    }

    @Override public PlumberRef registerPlumber(int pf, IfnetFamily family, ProtocolPlumber plumber) throws KpiException {
        return protocols.registerPlumber(owner, pf, family, plumber);
    }

    @Override public AttachmentRef attachProtocol(Ifnet ifp, int pf, List<DemuxDescriptor> demux, ProtocolHandler handler)
            throws KpiException {
        return protocols.attach(owner, ifp, pf, demux, handler);
    }

    @Override public int detachProtocol(Ifnet ifp, int pf) {
        if (!(ifp instanceof Interface i)) return Errno.EINVAL;
        return protocols.detach(i, pf);
    }

    @Override public InputRef registerInput(int pf, ProtocolInput input) throws KpiException {
        return protocols.registerInput(owner, pf, input);
    }

    @Override public int unregisterInput(int pf) { return protocols.unregisterInput(pf); }

    @Override public int protoInput(int pf, Mbuf m) { return protocols.input(pf, (Packet) m); }

    @Override public int protoInject(int pf, Mbuf m) { return protocols.input(pf, (Packet) m); }
}
