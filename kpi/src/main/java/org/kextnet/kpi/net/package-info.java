/**
 * Interfaces ({@code kpi_interface.h}): the {@link org.kextnet.kpi.net.Ifnet} handle every filter and protocol
 * callback receives, and the {@link org.kextnet.kpi.net.InterfaceKpi} through which an extension finds
 * interfaces and creates its own (a tunnel, a virtual link) with output, demux, protocol, framer, ioctl and
 * event callbacks.
 *
 * <h2>Data path through an interface</h2>
 * Input: driver &rarr; {@code demux} (which protocol family?) &rarr; interface filters (frame header apart)
 * &rarr; the protocol attached for that family. Output: protocol {@code preOutput} &rarr; {@code framer}
 * &rarr; interface filters (whole frame) &rarr; driver {@code output}.
 *
 * <p>An {@code Ifnet} stays a valid Java reference forever; once the interface is detached,
 * {@link org.kextnet.kpi.net.Ifnet#isAttached()} turns false and data calls fail with
 * {@link org.kextnet.kpi.Errno#ENXIO}.
 */
package org.kextnet.kpi.net;
