/**
 * Linux TUN and TAP devices through the FFM API: {@link org.kextnet.kernel.link.tun.TunDevice} opens
 * {@code /dev/net/tun} (one non-blocking descriptor per queue), {@link org.kextnet.kernel.link.tun.TunDriver}
 * reads and writes packets straight from and into pooled buffers, and
 * {@link org.kextnet.kernel.link.tun.HostLink} configures the Linux side of the device (namespace, address,
 * MTU, up).
 */
package org.kextnet.kernel.link.tun;
