package org.kextnet.kernel.nke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.control.ControlSocket;
import org.kextnet.kernel.embed.KernelHarness;
import org.kextnet.kernel.event.EventSocket;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Registration;
import org.kextnet.kpi.control.ControlClient;
import org.kextnet.kpi.control.ControlConnection;
import org.kextnet.kpi.control.ControlKpi;
import org.kextnet.kpi.control.ControlParams;
import org.kextnet.kpi.control.ControlRef;
import org.kextnet.kpi.control.KernelControl;
import org.kextnet.kpi.event.EventFilter;
import org.kextnet.kpi.event.KernelEvent;
import org.kextnet.kpi.event.KernelEvents;
import org.kextnet.kpi.mbuf.Mbuf;

/** Kernel control: registration, lookup, connect, send, enqueue with back-pressure, options, deregistration. */
class KernelControlTest {
    private KernelHarness k;
    private ExtensionHandle kpi;
    private final List<String> calls = Collections.synchronizedList(new ArrayList<>());

    @BeforeEach void setUp() {
        k = KernelHarness.create();
        kpi = k.kpi("com.example.kctl");
    }

    @AfterEach void tearDown() { k.close(); }

    /** Echoes what clients send back to them; option 1 stores 4 bytes, readable back. */
    private final class Echo implements KernelControl {
        ControlRef ref;

        @Override public int connect(ControlConnection c) {
            calls.add("connect:" + c.unit());
            c.setUnitInfo(new byte[4]);
            return 0;
        }
        @Override public void disconnect(ControlConnection c) { calls.add("disconnect:" + c.unit()); }
        @Override public int send(ControlConnection c, Mbuf m, int flags) {
            byte[] data = m.toByteArray();
            m.free();
            calls.add("send:" + new String(data, StandardCharsets.US_ASCII));
            return kpi.controls().enqueueData(ref, c.unit(), ByteBuffer.wrap(data), ControlKpi.DATA_EOR);
        }
        @Override public int setOption(ControlConnection c, int opt, byte[] data) {
            if (opt != 1 || data.length != 4) return Errno.EINVAL;
            System.arraycopy(data, 0, (byte[]) c.unitInfo(), 0, 4);
            return 0;
        }
        @Override public int getOption(ControlConnection c, int opt, byte[] buf) {
            if (opt != 1) return -Errno.ENOPROTOOPT;
            if (buf == null) return 4;
            if (buf.length < 4) return -Errno.EINVAL;
            System.arraycopy((byte[]) c.unitInfo(), 0, buf, 0, 4);
            return 4;
        }
        @Override public void received(ControlConnection c, int flags) { calls.add("rcvd"); }
    }

    @Test void clientLooksUpConnectsSendsAndReceives() throws Exception {
        Echo echo = new Echo();
        echo.ref = kpi.controls().register(ControlParams.named("com.example.echo"), echo);
        int id = k.kernel().controls().lookup("com.example.echo");
        assertThat(id).isEqualTo(echo.ref.id()).isPositive();
        assertThat(k.kernel().controls().count()).isEqualTo(1);
        try (ControlSocket c = k.kernel().controls().connect("com.example.echo", 0, false)) {
            assertThat(c.address().id()).isEqualTo(id);
            assertThat(c.address().unit()).isEqualTo(1);
            assertThat(c.send(ByteBuffer.wrap("hello".getBytes(StandardCharsets.US_ASCII)), 0)).isZero();
            ByteBuffer b = ByteBuffer.allocate(16);
            assertThat(c.receive(b, 1, TimeUnit.SECONDS)).isEqualTo(5);
            assertThat(new String(b.array(), 0, 5, StandardCharsets.US_ASCII)).isEqualTo("hello");
            assertThat(c.setOption(1, new byte[] {1, 2, 3, 4})).isZero();
            assertThat(c.setOption(1, new byte[] {1})).isEqualTo(Errno.EINVAL);
            assertThat(c.getOption(1, null)).isEqualTo(4);
            byte[] opt = new byte[4];
            assertThat(c.getOption(1, opt)).isEqualTo(4);
            assertThat(opt).containsExactly(1, 2, 3, 4);
            assertThat(c.getOption(2, opt)).isEqualTo(-Errno.ENOPROTOOPT);
        }
        assertThat(calls).containsExactly("connect:1", "send:hello", "rcvd", "disconnect:1");
    }

    @Test void deregisterIsRefusedWithEbusyWhileClientsAreConnected() throws Exception {
        Echo echo = new Echo();
        ControlRef ref = kpi.controls().register(ControlParams.named("com.example.busy"), echo);
        echo.ref = ref;
        ControlSocket c1 = k.kernel().controls().connect("com.example.busy", 0, false);
        ControlSocket c2 = k.kernel().controls().connect("com.example.busy", 0, false);
        assertThat(c2.unit()).isEqualTo(2);
        assertThat(ref.connectionCount()).isEqualTo(2);
        assertThat(kpi.controls().deregister(ref)).isEqualTo(Errno.EBUSY);
        assertThat(kpi.removeAll()).isEqualTo(Errno.EBUSY);
        c1.close();
        assertThat(kpi.controls().deregister(ref)).isEqualTo(Errno.EBUSY);
        c2.close();
        assertThat(kpi.controls().deregister(ref)).isZero();
        assertThat(ref.state()).isEqualTo(Registration.State.DETACHED);
        assertThat(k.kernel().controls().lookup("com.example.busy")).isEqualTo(-1);
        assertThat(kpi.controls().deregister(ref)).isEqualTo(Errno.EINVAL);
        assertThatThrownBy(() -> k.kernel().controls().connect("com.example.busy", 0, false))
                .matches(e -> ((KpiException) e).errno() == Errno.ENOENT);
    }

    @Test void theControlMayDeregisterFromItsDisconnectCallback() throws Exception {
        ControlRef[] ref = new ControlRef[1];
        ref[0] = kpi.controls().register(ControlParams.named("com.example.last"), new KernelControl() {
            @Override public int connect(ControlConnection c) { return 0; }
            @Override public void disconnect(ControlConnection c) { calls.add("dereg:" + kpi.controls().deregister(ref[0])); }
        });
        k.kernel().controls().connect("com.example.last", 0, false).close();
        assertThat(calls).containsExactly("dereg:0");
        assertThat(kpi.registrations()).isEmpty();
    }

    @Test void enqueueReportsEnobufsWhenTheClientQueueIsFullAndEmsgsizeWhenTooLarge() throws Exception {
        ControlRef ref = kpi.controls().register(ControlParams.named("com.example.q").withSizes(0, 100), new KernelControl() {
            @Override public int connect(ControlConnection c) { return 0; }
        });
        try (ControlSocket c = k.kernel().controls().connect("com.example.q", 0, false)) {
            assertThat(kpi.controls().enqueueSpace(ref, 1)).isEqualTo(100);
            assertThat(kpi.controls().enqueueData(ref, 1, ByteBuffer.wrap(new byte[101]), 0)).isEqualTo(Errno.EMSGSIZE);
            assertThat(kpi.controls().enqueueData(ref, 1, ByteBuffer.wrap(new byte[60]), 0)).isZero();
            ByteBuffer rest = ByteBuffer.wrap(new byte[60]);
            assertThat(kpi.controls().enqueueData(ref, 1, rest, 0)).isEqualTo(Errno.ENOBUFS);
            assertThat(rest.remaining()).isEqualTo(60);
            assertThat(kpi.controls().enqueueData(ref, 9, ByteBuffer.wrap(new byte[1]), 0)).isEqualTo(Errno.EINVAL);
            org.kextnet.kernel.buf.Packet m = k.kernel().buffers().alloc(60);
            m.setLength(60);
            assertThat(kpi.controls().enqueueMbuf(ref, 1, m, 0)).isEqualTo(Errno.ENOBUFS);
            assertThat(m.isFree()).isFalse(); // still the caller's on error
            assertThat(c.receive(ByteBuffer.allocate(100), 1, TimeUnit.SECONDS)).isEqualTo(60);
            assertThat(kpi.controls().enqueueMbuf(ref, 1, m, 0)).isZero();
            assertThat(m.isFree()).isTrue();
            assertThat(c.receive(ByteBuffer.allocate(100), 1, TimeUnit.SECONDS)).isEqualTo(60);
        }
    }

    @Test void noWakeupBatchesAndStreamControlsConcatenate() throws Exception {
        ControlRef ref = kpi.controls().register(ControlParams.named("com.example.stream")
                .withFlags(ControlParams.FLAG_REG_SOCK_STREAM), new KernelControl() {
            @Override public int connect(ControlConnection c) { return 0; }
        });
        try (ControlSocket c = k.kernel().controls().connect("com.example.stream", 0, false)) {
            kpi.controls().enqueueData(ref, 1, ByteBuffer.wrap("ab".getBytes(StandardCharsets.US_ASCII)), ControlKpi.DATA_NOWAKEUP);
            kpi.controls().enqueueData(ref, 1, ByteBuffer.wrap("cde".getBytes(StandardCharsets.US_ASCII)), ControlKpi.DATA_EOR);
            ByteBuffer b = ByteBuffer.allocate(4);
            assertThat(c.receive(b, 1, TimeUnit.SECONDS)).isEqualTo(4);
            assertThat(new String(b.array(), StandardCharsets.US_ASCII)).isEqualTo("abcd");
            b.clear();
            assertThat(c.receive(b, 1, TimeUnit.SECONDS)).isEqualTo(1);
        }
    }

    @Test void registrationRulesAndEvents() throws Exception {
        try (EventSocket ev = k.kernel().events().openSocket()) {
            ev.setFilter(new EventFilter(KernelEvents.KEV_VENDOR_KEXTNET, KernelEvents.KEV_SYSTEM_CLASS, KernelEvents.KEV_CTL_SUBCLASS));
            KernelControl ok = c -> 0;
            ControlRef fixed = kpi.controls().register(ControlParams.named("com.example.fixed").withIdUnit(0x1234, 7), ok);
            assertThat(fixed.id()).isEqualTo(0x1234);
            assertThatThrownBy(() -> kpi.controls().register(ControlParams.named("com.example.other").withIdUnit(0x1234, 7), ok))
                    .matches(e -> ((KpiException) e).errno() == Errno.EEXIST);
            assertThatThrownBy(() -> kpi.controls().register(ControlParams.named("com.example.fixed"), ok))
                    .matches(e -> ((KpiException) e).errno() == Errno.EEXIST);
            assertThatThrownBy(() -> kpi.controls().register(ControlParams.named(""), ok))
                    .matches(e -> ((KpiException) e).errno() == Errno.EINVAL);
            assertThatThrownBy(() -> kpi.controls().register(ControlParams.named("x".repeat(96)), ok))
                    .matches(e -> ((KpiException) e).errno() == Errno.EINVAL);
            assertThat(fixed.params().recvSize()).isEqualTo(ControlParams.DEFAULT_RECVSIZE);
            try (ControlSocket c = k.kernel().controls().connect("com.example.fixed", 0, false)) {
                assertThat(c.unit()).isEqualTo(7);
            }
            assertThat(kpi.controls().deregister(fixed)).isZero();
            KernelEvent reg = ev.receive(1, TimeUnit.SECONDS);
            KernelEvent dereg = ev.receive(1, TimeUnit.SECONDS);
            assertThat(reg.code()).isEqualTo(KernelEvents.KEV_CTL_REGISTERED);
            assertThat(dereg.code()).isEqualTo(KernelEvents.KEV_CTL_DEREGISTERED);
            assertThat(ByteBuffer.wrap(reg.data()).getInt()).isEqualTo(0x1234);
            assertThat(ByteBuffer.wrap(reg.data()).getInt(4)).isEqualTo(7);
        }
    }

    @Test void privilegedControlsRefuseUnprivilegedClientsAndRefusingConnectFails() throws Exception {
        kpi.controls().register(ControlParams.named("com.example.priv").withFlags(ControlParams.FLAG_PRIVILEGED), c -> 0);
        assertThatThrownBy(() -> k.kernel().controls().connect("com.example.priv", 0, false))
                .matches(e -> ((KpiException) e).errno() == Errno.EPERM);
        k.kernel().controls().connect("com.example.priv", 0, true).close();
        ControlRef no = kpi.controls().register(ControlParams.named("com.example.no"), c -> Errno.ECONNREFUSED);
        assertThatThrownBy(() -> k.kernel().controls().connect("com.example.no", 0, false))
                .matches(e -> ((KpiException) e).errno() == Errno.ECONNREFUSED);
        assertThat(no.connectionCount()).isZero();
        assertThat(kpi.controls().deregister(no)).isZero();
    }

    @Test void anExtensionCanBeAClientAndItsConnectionIsRecorded() throws Exception {
        Echo echo = new Echo();
        echo.ref = kpi.controls().register(ControlParams.named("com.example.echo2"), echo);
        ExtensionHandle client = k.kpi("com.example.client");
        ControlClient c = client.controls().connect("com.example.echo2", 0);
        assertThat(client.registrations()).hasSize(1);
        assertThat(c.send(ByteBuffer.wrap("x".getBytes(StandardCharsets.US_ASCII)), 0)).isZero();
        assertThat(client.removeAll()).isZero();
        assertThat(c.isConnected()).isFalse();
        assertThat(calls).endsWith("disconnect:1");
        assertThat(kpi.controls().deregister(echo.ref)).isZero();
    }

    @Test void throwingCallbacksFailTheClientCallWithEio() throws Exception {
        kpi.controls().register(ControlParams.named("com.example.bad"), new KernelControl() {
            @Override public int connect(ControlConnection c) { return 0; }
            @Override public int send(ControlConnection c, Mbuf m, int flags) {
                m.free();
                throw new IllegalStateException("bug");
            }
        });
        try (ControlSocket c = k.kernel().controls().connect("com.example.bad", 0, false)) {
            assertThat(c.send(ByteBuffer.wrap(new byte[1]), 0)).isEqualTo(Errno.EIO);
        }
        assertThat(kpi.faultCount()).isEqualTo(1);
    }
}
