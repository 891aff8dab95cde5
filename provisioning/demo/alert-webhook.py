"""The demo's alert receiver: Alertmanager's webhook posts here, and each alert is printed as
one JSON line (status, name, severity, labels, summary, runbook), so `docker compose logs
alert-webhook` shows the alerts reaching someone. GET answers 200 (the healthcheck)."""
import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            notification = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self.send_response(400)
            self.end_headers()
            return
        for alert in notification.get("alerts", []):
            labels = alert.get("labels", {})
            annotations = alert.get("annotations", {})
            print(json.dumps({
                "status": alert.get("status"),
                "alertname": labels.get("alertname"),
                "severity": labels.get("severity"),
                "labels": labels,
                "summary": annotations.get("summary"),
                "runbook_url": annotations.get("runbook_url"),
            }), flush=True)
        self.send_response(200)
        self.end_headers()

    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok\n")

    def log_message(self, *args):
        pass  # the alerts are the log


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), Receiver)
    print(json.dumps({"listening": f"{args.host}:{server.server_port}"}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
