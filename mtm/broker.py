"""The embedded broker: kombu's filesystem transport, with each message written whole before it
can be seen.

Kombu's own transport creates the message file under its final name and then writes it; a worker
listing the folder at that moment takes a half-written file and dies on it (JSONDecodeError). Here
a message is written under a name no reader looks for, flushed, and renamed into place: a rename
within one folder is atomic, so a reader finds a whole message or none."""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(
            self.data_folder_out, f"~{name}.part"
        )  # never "<queue>.msg" after the first dot
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
                file.flush()
                os.fsync(file.fileno())
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
