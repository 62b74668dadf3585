"""A teacher behind an HTTP prediction service (JSON in, JSON out)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping

import numpy as np

from ._base import Teacher, TeacherError, check_number

__all__ = ["RemoteTeacher"]

_TRANSIENT_HTTP = {408, 425, 429, 500, 502, 503, 504}


class _Transient(Exception):
    """A failure worth retrying: connection trouble, time-out, 5xx, 429."""


def _post(url, rows, input_key, output_key, headers, timeout):
    """One request: ``{input_key: rows}`` -> predictions; raises _Transient or
    TeacherError."""
    body = json.dumps({input_key: rows}).encode()
    request = urllib.request.Request(
        url, data=body, method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = json.loads(response.read().decode())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:200]
        if exc.code in _TRANSIENT_HTTP:
            raise _Transient(f"HTTP {exc.code} {exc.reason}") from None
        raise TeacherError(
            f"The prediction service at {url} refused the request: HTTP {exc.code} "
            f"{exc.reason}: {detail}"
        ) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _Transient(f"{type(exc).__name__}: {reason}") from None
    except json.JSONDecodeError as exc:
        raise TeacherError(f"The prediction service at {url} did not answer JSON: "
                           f"{exc}") from None
    if isinstance(payload, dict):
        if output_key not in payload:
            raise TeacherError(
                f"The prediction service at {url} answered without the key "
                f"{output_key!r} (keys: {sorted(payload)}); set output_key."
            )
        payload = payload[output_key]
    return payload


def _post_with_retries(url, rows, input_key, output_key, headers, timeout,
                       max_retries, backoff, max_backoff):
    """``_post`` retried with exponential back-off on transient failures."""
    last = None
    for attempt in range(max_retries + 1):
        try:
            return _post(url, rows, input_key, output_key, headers, timeout)
        except _Transient as exc:
            last = exc
            if attempt < max_retries:
                time.sleep(min(max_backoff, backoff * 2**attempt))
    raise TeacherError(
        f"The prediction service at {url} failed {max_retries + 1} times in a row "
        f"(last: {last}); giving up."
    )


class RemoteTeacher(Teacher):
    """A regression model served over HTTP: POST JSON rows, read JSON predictions.

    The request body is ``{"instances": [[x11, x12, ...], ...]}`` and the answer
    ``{"predictions": [y1, y2, ...]}``, or ``[[y11, y12], ...]`` with k numbers
    per row for a service of k outputs (keys configurable; a bare JSON list is
    also accepted). Rows are sent in batches of ``batch_size``; transient failures
    (connection errors, time-outs, HTTP 429 and 5xx) are retried with exponential
    back-off; other HTTP errors fail at once with the server's message.

    Parameters
    ----------
    url : str
        Endpoint receiving the POST requests.
    n_features : int, default=None
        Number of input features, if known (lets ``fit()`` run without a spec).
    batch_size : int, default=1000
        Rows per request.
    timeout : float, default=30
        Seconds to wait for one answer (``None``: no limit). An answer that does
        not come in time counts as a transient failure, retried ``max_retries``
        times.
    max_retries : int, default=5
        Retries of one request after transient failures.
    backoff : float, default=0.5
        First back-off delay in seconds; doubled at each retry, capped at
        ``max_backoff``.
    max_backoff : float, default=30
    cache : str, path or joblib.Memory, default=None
        On-disk cache of answers (a folder or a ``joblib.Memory``). A run that is
        interrupted and started again with the same ``random_state`` asks the same
        rows and gets them from the cache: no row is paid for twice. Rows served
        from the cache are not counted in ``n_queries``.
    input_key, output_key : str, default="instances", "predictions"
    headers : dict, default=None
        Extra HTTP headers (for example an authorization token).

    Attributes
    ----------
    n_queries : int
        Rows sent to the service.
    n_cached : int
        Rows answered from the cache.
    """

    def __init__(self, url, *, n_features=None, batch_size=1000, timeout=30.0,
                 max_retries=5, backoff=0.5, max_backoff=30.0, cache=None,
                 input_key="instances", output_key="predictions", headers=None):
        super().__init__()
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError(f"url must be an http(s) URL, got {url!r}.")
        check_number("n_features", n_features, integer=True, none=True)
        check_number("batch_size", batch_size, integer=True)
        check_number("timeout", timeout, none=True)
        check_number("max_retries", max_retries, integer=True, strict=False)
        check_number("backoff", backoff, strict=False)
        check_number("max_backoff", max_backoff, strict=False)
        for name, key in (("input_key", input_key), ("output_key", output_key)):
            if not isinstance(key, str):
                raise TypeError(f"{name} must be a str, got {key!r}.")
        if headers is not None and not isinstance(headers, Mapping):
            raise TypeError(
                f"headers must be a dict of HTTP headers, got {type(headers).__name__}."
            )
        self.url = url
        self.n_features_in_ = n_features
        self.batch_size = int(batch_size)
        self.timeout = timeout
        self.max_retries = int(max_retries)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.input_key, self.output_key = input_key, output_key
        self.headers = dict(headers or {})
        self.n_cached = 0
        self.cache = cache
        self._fetch = self._make_fetch(cache)

    @staticmethod
    def _make_fetch(cache):
        if cache is None:
            return None
        from joblib import Memory

        memory = cache if isinstance(cache, Memory) else Memory(str(cache), verbose=0)
        return memory.cache(_post_with_retries, ignore=["headers", "timeout",
                                                        "max_retries", "backoff",
                                                        "max_backoff"])

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._fetch = self._make_fetch(self.cache)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_fetch"] = None
        return state

    def _predict_numpy(self, X):
        out = []
        for start in range(0, len(X), self.batch_size):
            rows = X[start:start + self.batch_size].tolist()
            args = (self.url, rows, self.input_key, self.output_key, self.headers,
                    self.timeout, self.max_retries, self.backoff, self.max_backoff)
            if self._fetch is not None:
                if self._fetch.check_call_in_cache(*args):
                    # counted by predict, but not sent
                    self.count(-len(rows), cached=len(rows))
                answer = self._fetch(*args)
            else:
                answer = _post_with_retries(*args)
            # one number per row, or a list of k per row (multi-output services)
            out.append(np.asarray(answer, dtype=np.float64))
        return np.concatenate(out) if out else np.empty(0)

    def _describe(self):
        return self.url
