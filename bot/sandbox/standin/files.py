"""File uploads as Slack does them: files.getUploadURLExternal gives an upload URL, the
bytes are POSTed there, files.completeUploadExternal shares them."""

from __future__ import annotations

from typing import Any

from bot.sandbox.standin.protocol import (
    Answer,
    err,
    missing,
    ok,
    parse_multipart,
    split_ids,
    text_answer,
)
from bot.sandbox.standin.recording import Recording
from bot.sandbox.standin.workspace import File, Workspace


class Files(Recording, Workspace):
    """files.getUploadURLExternal, the upload URL it gives, files.completeUploadExternal."""

    def _files_get_upload_url_external(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = args.get("filename")
        if not filename:
            return missing("filename")
        try:
            length = int(args.get("length", ""))
        except (TypeError, ValueError):
            return missing("length")
        file_id = f"F{next(self._file_ids):010d}"
        self._files[file_id] = File(file_id, str(filename), length)
        return ok(upload_url=f"{self._base_url}/upload/{file_id}", file_id=file_id)

    def _files_complete_upload_external(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        if not isinstance(files, list) or not files:
            return missing("files")
        if args.get("channel_id"):
            _, error = self._writable_channel(args["channel_id"], allow_user=False)
            if error:
                return err(error)
        for channel in split_ids(args.get("channels")):
            _, error = self._writable_channel(channel, allow_user=False)
            if error:
                return err(error)
        completed = []
        for entry in files:
            file_id = entry.get("id") if isinstance(entry, dict) else None
            upload = self._files.get(str(file_id))
            if upload is None or upload.content is None:
                return err("file_not_found")
            title = entry.get("title") or upload.filename
            completed.append({"id": upload.id, "title": title})
        return ok(files=completed)

    def _serve_upload(self, file_id: str, content_type: str, body: bytes, at: float) -> Answer:
        content = body
        if content_type.lower().startswith("multipart/form-data"):
            # Slack also takes the bytes as a multipart "file" field; keep the first file part.
            for value in parse_multipart(content_type, body).values():
                if isinstance(value, dict):
                    content = str(value["content"]).encode("utf-8")
                    break
        args = {
            "file_id": file_id,
            "size": len(content),
            "content": content.decode("utf-8", "replace"),
        }

        def compute() -> Answer:
            upload = self._files.get(file_id)
            if upload is None:
                return text_answer("file not found", 404)
            upload.content = content
            return text_answer(f"OK - {len(content)}")

        return self._record("upload", args, None, at, compute)
