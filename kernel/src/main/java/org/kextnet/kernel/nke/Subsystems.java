package org.kextnet.kernel.nke;

import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.control.ControlRegistry;
import org.kextnet.kernel.domain.Domains;
import org.kextnet.kernel.event.EventBus;
import org.kextnet.kernel.hook.Heads;
import org.kextnet.kernel.inet.Ipv4Layer;
import org.kextnet.kernel.net.Contexts;
import org.kextnet.kernel.net.Interfaces;
import org.kextnet.kernel.protocol.Protocols;
import org.kextnet.kernel.socket.SocketFilters;
import org.kextnet.kernel.sync.TimerWheel;

/**
 * The parts of one kernel that its KPI reaches, as the composition root ({@code Kernel}) built them: each KPI
 * implementation takes what it needs from here when an extension's handle is made. Nothing in it reaches back
 * up.
 */
public record Subsystems(Buffers buffers, Contexts contexts, Heads heads, TimerWheel wheel, Interfaces interfaces,
                         EventBus events, Ipv4Layer ipv4, SocketFilters socketFilters, Protocols protocols,
                         Domains domains, ControlRegistry controls, ExtensionInterfaces extensionInterfaces) {}
