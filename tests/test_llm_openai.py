"""The OpenAI-compatible backend against a local SSE server on 127.0.0.1."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.core.llm import LLMError, OpenAICompatLLM


class FakeServer(BaseHTTPRequestHandler):
    requests: list = []
    pieces = ['{"answer": "', "LoRA ", "- это", '", "citations": [1]}']

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeServer.requests.append((self.path, dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        try:
            for piece in self.pieces:
                chunk = {"choices": [{"delta": {"content": piece}, "index": 0}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading (the cancel test)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    FakeServer.requests = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeServer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def test_streams_pieces_and_sends_the_grammar(server):
    llm = OpenAICompatLLM(server, "qwen", api_key="k-123", timeout_s=5)
    seen = []
    out = llm.generate("sys", "user", grammar="root ::= x", max_tokens=50, on_text=seen.append)
    assert out == '{"answer": "LoRA - это", "citations": [1]}' and "".join(seen) == out
    path, headers, body = FakeServer.requests[0]
    assert path == "/v1/chat/completions" and headers["Authorization"] == "Bearer k-123"
    assert body["grammar"] == "root ::= x" and body["stream"] is True and body["max_tokens"] == 50
    assert [m["role"] for m in body["messages"]] == ["system", "user"]


def test_cancel_stops_reading(server):
    llm = OpenAICompatLLM(server, "qwen", timeout_s=5)
    cancel = threading.Event()
    seen = []

    def on_text(piece):
        seen.append(piece)
        cancel.set()

    out = llm.generate("s", "u", grammar=None, max_tokens=5, on_text=on_text, cancel=cancel)
    assert out == '{"answer": "' and len(seen) == 1


def test_unreachable_server_is_a_clear_error():
    llm = OpenAICompatLLM("http://127.0.0.1:9/v1", "qwen", timeout_s=2)
    with pytest.raises(LLMError, match="did not answer"):
        llm.generate("s", "u", grammar=None, max_tokens=5)
