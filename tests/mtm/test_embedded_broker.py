"""The embedded broker hands a worker whole messages only, however busy the folder."""

import multiprocessing
from queue import Empty

from kombu import Connection

from mtm.broker import Transport

COUNT = 300


def _options(folder) -> dict:
    return {"data_folder_in": str(folder), "data_folder_out": str(folder), "store_processed": False,
            "processed_folder": str(folder / "processed"), "control_folder": str(folder / "control")}  # fmt: skip


def _read_all(folder, results) -> None:
    """A second process taking messages as fast as it can: what a worker's consumer does."""
    numbers = []
    with Connection(transport=Transport, transport_options=_options(folder)) as connection:
        channel = connection.default_channel
        results.put(("ready", None))
        while len(numbers) < COUNT:
            try:
                numbers.append(channel._get("queue")["number"])
            except Empty:
                continue
            except Exception as error:  # the decode error of a half-written file
                results.put(("error", repr(error)[:200]))
                return
    results.put(("numbers", numbers))


def test_a_worker_never_takes_a_message_half_written(tmp_path):
    """Messages written while another process reads the folder as fast as it can: every one it
    takes decodes whole. (Kombu's own transport names the file before writing it: the reader here
    failed on it with a JSONDecodeError.)"""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    reader = context.Process(target=_read_all, args=(tmp_path, results))
    reader.start()
    assert results.get(timeout=60)[0] == "ready"
    with Connection(transport=Transport, transport_options=_options(tmp_path)) as connection:
        channel = connection.default_channel
        for number in range(COUNT):
            channel._put("queue", {"number": number, "body": "x" * 200_000})
    outcome, value = results.get(timeout=60)
    reader.join(timeout=10)
    assert outcome == "numbers", value
    assert sorted(value) == list(range(COUNT))
