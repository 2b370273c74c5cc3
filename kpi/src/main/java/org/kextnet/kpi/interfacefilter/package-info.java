/**
 * Interface filters ({@code kpi_interfacefilter.h}): hooks on one interface, between its driver and its
 * protocols, optionally for one protocol family only.
 *
 * <ul>
 * <li><b>Input</b> runs on the interface's packet thread after demux (which found the protocol family),
 *   with the frame header given apart: the packet data starts after it.</li>
 * <li><b>Output</b> runs on the sending thread with the whole frame, header included, after framing and
 *   before the driver.</li>
 * <li>Results: 0 continue, {@link org.kextnet.kpi.Errno#EJUSTRETURN} stop and the filter owns the frame,
 *   another errno stop and the kernel frees it. Re-inject with {@link org.kextnet.kpi.net.Ifnet#input} or
 *   {@link org.kextnet.kpi.net.Ifnet#outputRaw}; the filters run again, so tag the frame.</li>
 * <li><b>ioctl</b>: {@link org.kextnet.kpi.Errno#EOPNOTSUPP} means "not mine, continue"; 0 means handled,
 *   continue with the others; EJUSTRETURN stops with success; another errno stops with that error.</li>
 * </ul>
 */
package org.kextnet.kpi.interfacefilter;
