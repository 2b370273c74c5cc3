package org.kextnet.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Random;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.inet.udp.UdpEchoService;
import org.kextnet.kernel.link.tun.TunDevice;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.stat.Stat;

/** {@code nc -u} in a namespace exchanges datagrams with the stack's UDP echo service over TUN. */
class UdpEchoTest {
    private final Teardown teardown = new Teardown();
    private NetNs ns;
    private Kernel kernel;

    @AfterEach void tearDown() throws Exception {
        teardown.close();
    }

    private void startStack() throws Exception {
        ns = teardown.add(NetNs.create("udp"));
        kernel = teardown.add(Stack.kernel("it-udp"));
        Interface tun = Stack.attach(kernel, ns, "tun0", TunDevice.Kind.TUN, "10.123.3.1/24", "10.123.3.2/24");
        assertThat(tun.mtu()).isEqualTo(1500);
        teardown.add(UdpEchoService.start(kernel.udp(), UdpEchoService.PORT));
    }

    /** Sends {@code payload} as one datagram with nc and returns what came back. */
    private byte[] echoWithNc(byte[] payload) {
        // -w 2: nc quits once stdin is done and nothing arrived for 2 s; the echo arrives well before.
        NetNs.Result r = ns.execInput(Duration.ofSeconds(30), payload, "nc", "-u", "-w", "2", "10.123.3.2", "7");
        assertThat(r.timedOut()).as("nc finished: %s", r).isFalse();
        return r.output().getBytes(StandardCharsets.ISO_8859_1);
    }

    @Test void ncExchangesDatagramsWithTheEchoService() throws Exception {
        Requirements.require("nc");
        startStack();
        for (String text : new String[] {"hello, kextnet\n", "a second datagram\n"}) {
            byte[] back = ncLatin1(text);
            assertThat(new String(back, StandardCharsets.ISO_8859_1)).isEqualTo(text);
        }
        assertThat(kernel.stats().get(Stat.UDP_IN)).isEqualTo(2);
        assertThat(kernel.stats().get(Stat.UDP_OUT)).isEqualTo(2);
        assertThat(kernel.stats().get(Stat.UDP_BAD_SUM)).isZero();
    }

    @Test void aDatagramLargerThanTheMtuIsReassembledEchoedAndFragmentedBack() throws Exception {
        Requirements.require("nc");
        startStack();
        // 4000 printable bytes: Linux fragments them into three packets at MTU 1500.
        byte[] payload = new byte[4000];
        Random rnd = new Random(42);
        for (int i = 0; i < payload.length; i++) payload[i] = (byte) ('a' + rnd.nextInt(26));

        byte[] back = echoWithNc(payload);

        assertThat(back).hasSize(payload.length).isEqualTo(payload);
        assertThat(kernel.stats().get(Stat.IP_FRAGMENTS)).isEqualTo(3);
        assertThat(kernel.stats().get(Stat.IP_REASSEMBLED)).isEqualTo(1);
        assertThat(kernel.stats().get(Stat.IP_FRAGMENTED)).isEqualTo(1);
        assertThat(kernel.stats().get(Stat.IP_FRAGMENTS_CREATED)).isEqualTo(3);
        assertThat(kernel.stats().get(Stat.UDP_OUT)).isEqualTo(1);
    }

    private byte[] ncLatin1(String text) {
        return echoWithNc(text.getBytes(StandardCharsets.ISO_8859_1));
    }
}
