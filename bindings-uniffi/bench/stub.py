"""A local stub edge for `make bench`: answers every request with a fixed /v1/models body over
keep-alive HTTP/1.1 (asyncio, one process), so client overhead is what the bench sees.
Prints its base URL on the first stdout line and serves until stdin closes."""

import asyncio
import sys

BODY = (b'{"object":"list","data":['
        b'{"id":"llama-3.1-8b","object":"model","created":0,"owned_by":"polargrid","root":"llama-3.1-8b","parent":null,"permission":[]},'
        b'{"id":"qwen-2.5-7b","object":"model","created":0,"owned_by":"polargrid","root":"qwen-2.5-7b","parent":null,"permission":[]}]}')
RESP = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-polargrid-region: stub\r\n"
        b"content-length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY)


class Edge(asyncio.Protocol):
    def connection_made(self, transport):
        self.t, self.buf = transport, b""

    def data_received(self, data):
        self.buf += data
        while b"\r\n\r\n" in self.buf:  # GETs only: no request bodies
            _, self.buf = self.buf.split(b"\r\n\r\n", 1)
            self.t.write(RESP)


async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Edge, "127.0.0.1", 0)
    print(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    await loop.run_in_executor(None, sys.stdin.read)


asyncio.run(main())
