package org.kextnet.loader.port;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import org.kextnet.loader.LoaderError;
import org.kextnet.loader.LoaderException;

/**
 * The daemon's name server (the network name server's {@code netname_check_in}/{@code look_up}) and port
 * table. Server ports and client reply ports share one space of 64-bit port ids; ids are never reused.
 */
public final class NameServer {
    private final ConcurrentHashMap<String, Port> byName = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, Port> byId = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, ReplyPort> replyPorts = new ConcurrentHashMap<>();
    private final AtomicLong nextId = new AtomicLong(0x100);

    /**
     * Creates a server port and, if {@code advertised}, checks its name in.
     * @throws LoaderException 107 PORT_EXISTS if a port of that name exists
     */
    public Port create(String name, boolean advertised, PortOwner owner) throws LoaderException {
        Port p = new Port(nextId.getAndIncrement(), name, advertised, owner);
        Port old = byName.putIfAbsent(name, p);
        if (old != null) throw new LoaderException(LoaderError.PORT_EXISTS, "port " + name + " exists (server " + old.owner().serverName() + ")");
        byId.put(p.id(), p);
        return p;
    }

    /** Removes a port (after it has been killed). */
    public void remove(Port p) {
        byName.remove(p.name(), p);
        byId.remove(p.id(), p);
    }

    /** Looks up an advertised port by name. */
    public Port lookup(String name) {
        Port p = byName.get(name);
        return p != null && p.advertised() ? p : null;
    }

    /** Any server port by name, advertised or not (for its own server: {@code KernServ.port}). */
    public Port named(String name) { return byName.get(name); }

    /** A server port by id (any port, advertised or not: holding the id is the send right). */
    public Port port(long id) { return byId.get(id); }

    /** Every server port, by name. */
    public List<Port> ports() {
        List<Port> l = new ArrayList<>(byName.values());
        l.sort(Comparator.comparing(Port::name));
        return l;
    }

    public ReplyPort newReplyPort(ReplyPort.Receiver receiver) {
        ReplyPort r = new ReplyPort(nextId.getAndIncrement(), receiver);
        replyPorts.put(r.id(), r);
        return r;
    }

    public ReplyPort replyPort(long id) { return replyPorts.get(id); }

    /** The client holding {@code r} went away: PORT_DEATH to every server watching it. */
    public void destroy(ReplyPort r) {
        replyPorts.remove(r.id(), r);
        r.die();
    }
}
