package org.kextnet.kernel.inet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.testing.TestNet;
import org.kextnet.kernel.wire.Ipv4;

class RouteTableTest {
    private final TestNet net = TestNet.twoLinks();
    private final RouteTable table = new RouteTable();

    @AfterEach void close() { net.close(); }

    private Route route(String prefix, int len, String gw) {
        return new Route(Ipv4.parse(prefix), len, gw == null ? 0 : Ipv4.parse(gw), net.em0(), gw == null);
    }

    @Test void theLongestPrefixMatches() {
        table.add(route("0.0.0.0", 0, "10.0.0.254"));
        table.add(route("10.0.0.0", 8, "10.0.0.1"));
        table.add(route("10.1.0.0", 16, "10.0.0.2"));
        table.add(route("10.1.2.3", 32, "10.0.0.3"));

        assertThat(table.lookup(Ipv4.parse("10.1.2.3")).prefixLength()).isEqualTo(32);
        assertThat(table.lookup(Ipv4.parse("10.1.2.4")).prefixLength()).isEqualTo(16);
        assertThat(table.lookup(Ipv4.parse("10.9.9.9")).prefixLength()).isEqualTo(8);
        assertThat(table.lookup(Ipv4.parse("8.8.8.8")).prefixLength()).isZero();
    }

    @Test void noMatchWithoutADefault() {
        table.add(route("10.0.0.0", 8, null));
        assertThat(table.lookup(Ipv4.parse("11.0.0.1"))).isNull();
    }

    @Test void aDestinationIsMaskedToItsPrefix() {
        Route r = route("10.1.2.3", 16, null);
        assertThat(r.destination()).isEqualTo(Ipv4.parse("10.1.0.0"));
        assertThat(r.nextHop(Ipv4.parse("10.1.9.9"))).isEqualTo(Ipv4.parse("10.1.9.9"));
        assertThat(route("0.0.0.0", 0, "10.0.0.1").nextHop(1)).isEqualTo(Ipv4.parse("10.0.0.1"));
    }

    @Test void duplicatesAreRefusedAndRoutesRemoved() {
        table.add(route("10.1.0.0", 16, null));
        assertThatThrownBy(() -> table.add(route("10.1.255.0", 16, null))).hasMessageContaining("exists");
        assertThat(table.remove(Ipv4.parse("10.1.7.7"), 16)).isTrue();
        assertThat(table.remove(Ipv4.parse("10.1.0.0"), 16)).isFalse();
        assertThat(table.routes()).isEmpty();
    }

    @Test void removingAnInterfaceRemovesItsRoutes() {
        table.add(route("10.1.0.0", 16, null));
        table.add(new Route(Ipv4.parse("10.2.0.0"), 16, 0, net.em1(), true));
        table.removeInterface(net.em0());
        assertThat(table.routes()).extracting(Route::ifp).containsExactly(net.em1());
    }
}
