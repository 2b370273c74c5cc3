package org.kextnet.loader.port;

/** The loader's side of a port: what to do when a message arrives for a server that is not loaded. */
public interface PortOwner {
    /** Starts loading the server in the background (demand loading); returns at once. */
    void demandLoad(Port port);

    /** The owning server's name. */
    String serverName();
}
