"""Local AWS endpoints for the Python tests (this directory's, and geoip/layer's).

MotoServer: moto from .venv (`make test-tools`), on 127.0.0.1, stopped by process id.
FakeCognitoIdentityRoles: GetIdentityPoolRoles and SetIdentityPoolRoles of Cognito identity pools
in their real wire protocol (JSON 1.1, X-Amz-Target), which moto 5.2 does not implement; a fake
for those two calls only, recording what it is sent.
"""
import http.server
import json
import os
import queue
import re
import subprocess
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


class MotoServer:
    """moto on a port the system gives it as it binds (port 0), read from the line its server
    prints; a port found free beforehand could be taken by another test's moto meanwhile."""

    def __init__(self):
        binary = os.path.join(REPO, ".venv", "bin", "moto_server")
        if not os.path.exists(binary):
            raise AssertionError(f"{binary} is missing: run `make test-tools` (`make test` does)")
        self.process = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", "0"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        found = queue.Queue()
        threading.Thread(target=self._read_log, args=(found,), daemon=True).start()
        try:
            port = found.get(timeout=30)
        except queue.Empty:
            self.stop()
            raise AssertionError("moto did not say which port it listens on") from None
        self.url = f"http://127.0.0.1:{port}"

    def _read_log(self, found):
        # For as long as moto runs: it logs every request, and a full pipe would stop it.
        for line in self.process.stderr:
            match = re.search(r"Running on http://127\.0\.0\.1:(\d+)", line)
            if match:
                found.put(int(match.group(1)))

    def stop(self):
        self.process.kill()
        self.process.wait()


class FakeCognitoIdentityRoles(http.server.ThreadingHTTPServer):
    """Identity pools' roles and role mappings, as Cognito answers GetIdentityPoolRoles and
    SetIdentityPoolRoles. `pools` holds the pools that exist: id -> {"Roles": ..., "RoleMappings": ...}."""

    def __init__(self, pools):
        self.pools = pools
        self.calls = []
        super().__init__(("127.0.0.1", 0), _IdentityHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self):
        self.shutdown()
        self.server_close()


class _IdentityHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        operation = self.headers.get("X-Amz-Target", "").rpartition(".")[2]
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        self.server.calls.append((operation, request))
        pool = self.server.pools.get(request.get("IdentityPoolId"))
        status, answer = 200, {}
        if pool is None:
            status, answer = 400, {"__type": "ResourceNotFoundException",
                                   "message": f"IdentityPool '{request.get('IdentityPoolId')}' not found."}
        elif operation == "GetIdentityPoolRoles":
            answer = {"IdentityPoolId": request["IdentityPoolId"], **json.loads(json.dumps(pool))}
        elif operation == "SetIdentityPoolRoles":
            pool.clear()
            pool.update({"Roles": request.get("Roles", {}), "RoleMappings": request.get("RoleMappings", {})})
        else:
            status, answer = 400, {"__type": "UnknownOperationException", "message": operation}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass
