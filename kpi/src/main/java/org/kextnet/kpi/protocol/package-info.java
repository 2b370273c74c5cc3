/**
 * Protocol plumbers and protocol attachments ({@code kpi_protocol.h}, {@code ifnet_attach_protocol}).
 *
 * <p>A <b>plumber</b> knows how to attach one protocol family to interfaces of one interface family: when
 * such an interface attaches (and, at registration, for those already attached), the kernel calls
 * {@link org.kextnet.kpi.protocol.ProtocolPlumber#plumb plumb}, which attaches the protocol with
 * {@link org.kextnet.kpi.protocol.ProtocolKpi#attachProtocol}: demux descriptors say which frames are the
 * protocol's, and a {@link org.kextnet.kpi.protocol.ProtocolHandler} receives them and prepares outgoing
 * packets for the framer. The kernel's own IPv4 over Ethernet and over TUN are plumbed exactly this way, so
 * unplumbing IPv4 from an interface stops IPv4 on it, and plumbing it again restores it.
 *
 * <p>A protocol family's <b>input</b> ({@link org.kextnet.kpi.protocol.ProtocolKpi#registerInput}) is where
 * {@code protoInput} and {@code protoInject} deliver packets of that family.
 */
package org.kextnet.kpi.protocol;
