# A stand-in for Linux's foo-over-UDP (fou), which this kernel may lack: IPv4 packets in UDP datagrams, nothing
# else in the payload. Run inside a network namespace:
#   udp_relay.py TUN LOCAL_IP PORT PEER_IP PEER_PORT
# opens the TUN device TUN (the test gives it its address), binds LOCAL_IP:PORT, then carries every packet Linux
# routes into TUN to PEER_IP:PEER_PORT in a datagram, and every datagram from PEER_IP into TUN. Prints "ready" once
# both are open. Runs until killed.
import fcntl, os, select, socket, struct, sys

TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000
name, local_ip, port, peer_ip, peer_port = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
tun = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(tun, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind((local_ip, port))
print("ready", flush=True)
while True:
    ready, _, _ = select.select([tun, udp], [], [])
    if tun in ready:
        udp.sendto(os.read(tun, 65535), (peer_ip, peer_port))
    if udp in ready:
        data, source = udp.recvfrom(65535)
        if source[0] == peer_ip:
            os.write(tun, data)
