package org.kextnet.kernel.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.embed.KernelHarness;
import org.kextnet.kernel.hook.FaultPolicy;
import org.kextnet.kernel.nke.ExtensionHandle;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.testing.Frame;
import org.kextnet.kernel.testing.Pkt;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.Registration;
import org.kextnet.kpi.event.EventFilter;
import org.kextnet.kpi.event.KernelEvent;
import org.kextnet.kpi.event.KernelEvents;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.DemuxDescriptor;
import org.kextnet.kpi.net.FrameInfo;
import org.kextnet.kpi.net.Ifnet;
import org.kextnet.kpi.net.ProtocolFamily;
import org.kextnet.kpi.protocol.ProtocolHandler;
import org.kextnet.kpi.protocol.ProtocolKpi;

/**
 * Protocol attachments beyond plumbing: IPv4 on a TUN link through its attachment, what an attached protocol
 * receives besides frames (events, ioctls), its {@code detached} after the input still inside it, fault
 * containment, and {@code proto_input}/{@code proto_inject}.
 */
class ProtocolAttachmentTest {
    private static final int PF_TOY = 201, ETHERTYPE_TOY = 0x88B6;

    private KernelHarness k;
    private ExtensionHandle kpi;
    private final List<String> calls = Collections.synchronizedList(new ArrayList<>());

    @BeforeEach void setUp() {
        k = KernelHarness.builder().ethernet("wire0", "10.0.0.1/24").tun("tun0", "10.9.0.1/24")
                .faultPolicy(new FaultPolicy(3, false, false)).build();
        kpi = k.kpi("com.example.toy");
    }

    @AfterEach void tearDown() {
        k.close();
        assertThat(k.leakedBuffers()).as("buffers leaked").isZero();
    }

    private byte[] ping(String link, int seq) {
        KernelHarness.Link l = k.link(link);
        return Pkt.echo(7, seq, new byte[8]).withSrc(l.peerIp()).withDst(l.kernelIp()).ipBytes();
    }

    private boolean answersPing(String link, int seq) {
        k.injectIp(link, ping(link, seq));
        k.runPending();
        byte[] reply = k.readOutboundIp(link);
        return reply != null && Frame.ofIp(reply).protocol() == Pkt.ICMP;
    }

    private void injectToy(String text) {
        KernelHarness.Link l = k.link();
        k.injectInbound(Pkt.ethernet(l.kernelMac(), l.peerMac(), ETHERTYPE_TOY, text.getBytes(StandardCharsets.US_ASCII)));
        k.runPending();
    }

    /** Waits (bounded) until {@code r}'s final callback ran. */
    private void awaitFinal(Registration r) {
        for (int i = 0; i < 100 && (r.state() == Registration.State.ACTIVE || r.state() == Registration.State.DETACHING); i++) {
            k.awaitDetached();
        }
        assertThat(r.state()).isIn(Registration.State.DETACHED, Registration.State.FAULTED);
    }

    private abstract static class Handler implements ProtocolHandler {
        @Override public int input(Ifnet ifp, int pf, Mbuf m, int frameHeader) {
            m.free();
            return 0;
        }
        @Override public int preOutput(Ifnet ifp, int pf, Mbuf m, FrameInfo frame) { return 0; }
    }

    @Test void unplumbingIpv4FromATunLinkStopsItThereOnly() {
        assertThat(answersPing("tun0", 1)).isTrue();
        assertThat(k.kernel().protocols().unplumb(k.link("tun0").ifp(), ProtocolFamily.PF_INET)).isZero();

        long ip = k.stat(Stat.IP_TOTAL);
        assertThat(answersPing("tun0", 2)).isFalse();
        assertThat(k.stat(Stat.IP_TOTAL)).isEqualTo(ip); // it never reached IP
        assertThat(answersPing("wire0", 2)).isTrue();    // the Ethernet link keeps its IPv4

        assertThat(k.kernel().protocols().plumb(k.link("tun0").ifp(), ProtocolFamily.PF_INET)).isZero();
        assertThat(answersPing("tun0", 3)).isTrue();
    }

    @Test void anAttachedProtocolSeesInterfaceEventsAndItsIoctls() throws Exception {
        List<String> bus = Collections.synchronizedList(new ArrayList<>());
        var subscription = kpi.events().subscribe(new EventFilter(KernelEvents.KEV_VENDOR_KEXTNET, KernelEvents.KEV_NETWORK_CLASS,
                KernelEvents.KEV_DL_SUBCLASS), e -> bus.add(KernelEvents.codeName(e)));
        ProtocolKpi.AttachmentRef ref = kpi.protocols().attachProtocol(k.ifp(), PF_TOY, List.of(DemuxDescriptor.etherType(ETHERTYPE_TOY)),
                new Handler() {
                    @Override public void event(Ifnet ifp, int pf, KernelEvent e) { calls.add("event " + KernelEvents.codeName(e)); }
                    @Override public int ioctl(Ifnet ifp, int pf, long command, Object argument) {
                        calls.add("ioctl " + Long.toHexString(command));
                        return command == 0x1234 ? 0 : Errno.EOPNOTSUPP;
                    }
                    @Override public void detached(Ifnet ifp, int pf) { calls.add("detached " + ifp.name()); }
                });
        k.ifp().setLinkState(false);

        assertThat(k.ifp().ioctl(PF_TOY, 0x1234, null)).isZero();
        assertThat(k.ifp().ioctl(PF_TOY, 0x4321, null)).isEqualTo(Errno.EOPNOTSUPP);
        assertThat(k.ifp().ioctl(ProtocolFamily.PF_UNSPEC, 0x1234, null)).isEqualTo(Errno.EOPNOTSUPP); // not asked
        assertThat(kpi.protocols().detachProtocol(k.ifp(), PF_TOY)).isZero();
        awaitFinal(ref);

        assertThat(calls).containsExactly("event KEV_DL_PROTO_ATTACHED", "event KEV_DL_LINK_OFF", "ioctl 1234", "ioctl 4321", "detached wire0");
        assertThat(bus).containsExactly("KEV_DL_PROTO_ATTACHED", "KEV_DL_LINK_OFF", "KEV_DL_PROTO_DETACHED");
        assertThat(kpi.registrations()).containsExactly(subscription);
    }

    @Test void detachedWaitsForTheInputStillInsideTheProtocol() throws Exception {
        CountDownLatch inside = new CountDownLatch(1), release = new CountDownLatch(1);
        ProtocolKpi.AttachmentRef ref = kpi.protocols().attachProtocol(k.ifp(), PF_TOY, List.of(DemuxDescriptor.etherType(ETHERTYPE_TOY)),
                new Handler() {
                    @Override public int input(Ifnet ifp, int pf, Mbuf m, int frameHeader) {
                        calls.add("input-enter");
                        inside.countDown();
                        try {
                            release.await(30, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                        calls.add("input-return");
                        return super.input(ifp, pf, m, frameHeader);
                    }
                    @Override public void detached(Ifnet ifp, int pf) { calls.add("detached"); }
                });
        KernelHarness.Link l = k.link();
        k.injectInbound(Pkt.ethernet(l.kernelMac(), l.peerMac(), ETHERTYPE_TOY, new byte[4]));
        Thread reader = Thread.ofPlatform().start(k::runPending);
        assertThat(inside.await(30, TimeUnit.SECONDS)).isTrue();

        assertThat(kpi.protocols().detachProtocol(k.ifp(), PF_TOY)).isZero();
        assertThat(k.ifp().protocols().byFamily(PF_TOY)).isNull(); // no new frame reaches it
        Thread.sleep(50); // gives a wrong implementation the chance to call detached early (no time is asserted)
        assertThat(calls).containsExactly("input-enter");
        release.countDown();
        reader.join(TimeUnit.SECONDS.toMillis(30));
        awaitFinal(ref);

        assertThat(calls).containsExactly("input-enter", "input-return", "detached");
    }

    @Test void aThrowingProtocolIsContainedThenDetachedAndLeaksNothing() throws Exception {
        ProtocolKpi.AttachmentRef ref = kpi.protocols().attachProtocol(k.ifp(), PF_TOY, List.of(DemuxDescriptor.etherType(ETHERTYPE_TOY)),
                new Handler() {
                    @Override public int input(Ifnet ifp, int pf, Mbuf m, int frameHeader) { throw new IllegalStateException("bug"); }
                    @Override public void detached(Ifnet ifp, int pf) { calls.add("detached"); }
                });
        for (int i = 0; i < 4; i++) injectToy("x" + i); // the fault limit is 3
        awaitFinal(ref);

        assertThat(ref.faults()).isEqualTo(3);
        assertThat(ref.state()).isEqualTo(Registration.State.FAULTED);
        assertThat(calls).containsExactly("detached");
        assertThat(answersPing("wire0", 1)).isTrue();
    }

    // ---- proto_input and proto_inject ----

    @Test void protoInjectOfIpv4ReachesIpInput() {
        byte[] packet = ping("wire0", 5);
        Mbuf m = kpi.mbufs().allocate(packet.length);
        m.setLength(packet.length);
        m.copyBack(0, packet, 0, packet.length);
        m.setRcvif(k.ifp());

        assertThat(kpi.protocols().protoInject(ProtocolFamily.PF_INET, m)).isZero();

        byte[] reply = k.readOutboundIp();
        assertThat(reply).isNotNull();
        assertThat(Frame.ofIp(reply).dst()).isEqualTo(k.peerIp());
    }

    @Test void protoInputRefusesWhatItCannotDeliverAndTheCallerKeepsIt() throws Exception {
        Mbuf noInterface = kpi.mbufs().allocate(20);
        noInterface.setLength(20);
        assertThat(kpi.protocols().protoInject(ProtocolFamily.PF_INET, noInterface)).isEqualTo(Errno.EINVAL);
        assertThat(noInterface.isFree()).isFalse();
        noInterface.free();

        Mbuf noInput = kpi.mbufs().allocate(4);
        noInput.setLength(4);
        noInput.setRcvif(k.ifp());
        assertThat(kpi.protocols().protoInput(PF_TOY, noInput)).isEqualTo(Errno.ENOENT);
        assertThat(noInput.isFree()).isFalse();
        noInput.free();
        assertThat(k.kernel().nke().kernelHandle().registrations()).allMatch(r -> r.faults() == 0);
    }

    @Test void aThrowingProtocolInputLosesNoBuffer() throws Exception {
        ProtocolKpi.InputRef ref = kpi.protocols().registerInput(PF_TOY, (pf, m) -> {
            throw new IllegalStateException("bug");
        });
        for (int i = 0; i < 2; i++) {
            Mbuf m = kpi.mbufs().allocate(4);
            m.setLength(4);
            m.setRcvif(k.ifp());
            assertThat(kpi.protocols().protoInject(PF_TOY, m)).isZero(); // taken, then dropped by the kernel
        }
        assertThat(ref.faults()).isEqualTo(2);
    }
}
