"""RemoteTeacher against real HTTP servers on loopback, including flaky ones."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from skdistill import DataFreeDistillRegressor, RemoteTeacher
from skdistill.teachers import TeacherError

from .conftest import sum_of_squares

FAST = dict(regime="stream", sampler="direct",  # the paper's loop, DE on black boxes
            max_epochs=4, batches_per_epoch=2, batch_size=10, n_validation=50,
            de_maxiter=3)


class Service:
    """A prediction service on 127.0.0.1 that can fail, stall or misbehave."""

    def __init__(self, fail_every=0, status=503, stall_first=0.0, body=None):
        self.requests = self.rows = self.failures = 0
        self.fail_every, self.status = fail_every, status
        self.stall_first, self.body = stall_first, body
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers["Content-Length"])
                payload = json.loads(self.rfile.read(n))
                service.requests += 1
                if service.stall_first and service.requests == 1:
                    time.sleep(service.stall_first)
                if service.fail_every and service.requests % service.fail_every == 0:
                    service.failures += 1
                    self.send_error(service.status, "try again")
                    return
                X = np.asarray(payload["instances"], dtype=float)
                service.rows += len(X)
                out = service.body if service.body is not None else json.dumps(
                    {"predictions": sum_of_squares(X).tolist()})
                data = out.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/predict"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_remote_teacher_distils_and_counts_rows_sent():
    with Service() as service:
        teacher = RemoteTeacher(service.url, batch_size=64)
        est = DataFreeDistillRegressor(teacher, random_state=0, **FAST)
        est.fit(bounds=[(-1, 1)] * 3)
        assert est.teacher_.differentiable is False
        assert est.sampler_.optimizer_ == "de"
        assert service.rows == est.n_teacher_queries_
        assert teacher.n_queries == 0  # the user's object is not modified
        X = np.random.default_rng(0).uniform(-1, 1, (3, 3))
        np.testing.assert_allclose(teacher.predict(X), sum_of_squares(X))


def test_flaky_service_is_retried_with_backoff():
    with Service(fail_every=3) as service:
        teacher = RemoteTeacher(service.url, batch_size=40, backoff=0.001)
        est = DataFreeDistillRegressor(teacher, random_state=0, **FAST)
        est.fit(bounds=[(-1, 1)] * 2)
        assert service.failures > 0
        assert service.rows == est.n_teacher_queries_


def test_service_that_keeps_failing_gives_up_clearly():
    with Service(fail_every=1) as service:
        teacher = RemoteTeacher(service.url, max_retries=2, backoff=0.001)
        with pytest.raises(TeacherError, match="failed 3 times in a row .*HTTP 503"):
            teacher.predict(np.zeros((2, 2)))
        assert service.requests == 3


def test_client_errors_are_not_retried():
    with Service(fail_every=1, status=400) as service:
        teacher = RemoteTeacher(service.url, backoff=0.001)
        with pytest.raises(TeacherError, match="refused the request: HTTP 400"):
            teacher.predict(np.zeros((2, 2)))
        assert service.requests == 1


def test_timeout_then_retry():
    with Service(stall_first=1.0) as service:
        teacher = RemoteTeacher(service.url, timeout=0.2, backoff=0.001)
        np.testing.assert_allclose(teacher.predict(np.ones((2, 2))), [3.0, 3.0])
        assert service.requests == 2


def test_bad_answers_are_reported():
    with Service(body=json.dumps({"result": [1.0]})) as service:
        with pytest.raises(TeacherError, match="without the key 'predictions'"):
            RemoteTeacher(service.url).predict(np.zeros((1, 2)))
    with Service(body="not json") as service:
        with pytest.raises(TeacherError, match="did not answer JSON"):
            RemoteTeacher(service.url).predict(np.zeros((1, 2)))
    with Service(body=json.dumps({"predictions": [1.0]})) as service:
        with pytest.raises(TeacherError, match=r"shape \(1,\) for 2 rows"):
            RemoteTeacher(service.url).predict(np.zeros((2, 2)))


def test_query_cache_means_a_rerun_pays_nothing(tmp_path):
    with Service() as service:
        teacher = RemoteTeacher(service.url, cache=tmp_path / "cache")
        first = DataFreeDistillRegressor(teacher, random_state=0, **FAST)
        first.fit(bounds=[(-1, 1)] * 2)
        paid = service.rows
        assert paid == first.n_teacher_queries_ > 0
        again = DataFreeDistillRegressor(teacher, random_state=0, **FAST)
        again.fit(bounds=[(-1, 1)] * 2)
        assert service.rows == paid  # nothing sent twice
        assert again.n_teacher_queries_ == 0 and again.teacher_.n_cached == paid
        X = np.random.default_rng(1).uniform(-1, 1, (5, 2))
        np.testing.assert_array_equal(first.predict(X), again.predict(X))


def test_bad_url():
    with pytest.raises(ValueError, match="http"):
        RemoteTeacher("ftp://example")
