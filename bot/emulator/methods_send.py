"""Bot API handlers that create, change or remove messages and files."""

from __future__ import annotations

import re
import time
from typing import Any

from .core import ApiRequest, Core
from .files import DOCUMENT_MAX_BYTES, PHOTO_MAX_BYTES, document, file_object, image_size
from .models import ApiError, UploadedFile, bad_request, world_error
from .validation import deep_link_issues, entity_urls, parse_content
from .world import ChatState

CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
})
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
_URL = re.compile(r"https?://\S+", re.IGNORECASE)


def _soft_links(req: ApiRequest, text: str | None, entities: Any) -> None:
    req.soft.extend(deep_link_issues(text or ""))
    for url in entity_urls(entities if isinstance(entities, list) else None):
        req.soft.extend(deep_link_issues(url))


def _text_fields(req: ApiRequest) -> dict[str, Any]:
    p = req.params
    _soft_links(req, p.get("text"), p.get("entities"))
    text, entities = parse_content(p["text"], p.get("parse_mode"), p.get("entities"),
                                   caption=False)
    fields: dict[str, Any] = {"text": text}
    if entities:
        fields["entities"] = entities
    if isinstance(p.get("link_preview_options"), dict):
        fields["link_preview_options"] = p["link_preview_options"]
    return fields


def _caption_fields(req: ApiRequest) -> dict[str, Any]:
    p = req.params
    if "caption" not in p:
        return {}
    _soft_links(req, p.get("caption"), p.get("caption_entities"))
    caption, entities = parse_content(p["caption"], p.get("parse_mode"),
                                      p.get("caption_entities"), caption=True)
    fields: dict[str, Any] = {}
    if caption:
        fields["caption"] = caption
        if entities:
            fields["caption_entities"] = entities
    return fields


def _markup(params: dict[str, Any]) -> dict[str, Any]:
    # Only inline keyboards are echoed back in the Message, as Telegram does.
    markup = params.get("reply_markup")
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        return {"reply_markup": markup}
    return {}


def _deliver(core: Core, req: ApiRequest, fields: dict[str, Any]) -> dict[str, Any]:
    """Common tail of every send: chat access, topic, reply target, then store."""
    p = req.params
    chat = core.writable_chat(p["chat_id"])
    thread = core.thread(chat, p.get("message_thread_id"))
    reply = core.reply_to(chat, p)
    if reply is not None:
        fields["reply_to_message"] = reply
    fields.update(_markup(p))
    return core.bot_post(req.method, chat, fields, thread)


def send_message(core: Core, req: ApiRequest) -> dict[str, Any]:
    """sendMessage."""
    return _deliver(core, req, _text_fields(req))


def send_photo(core: Core, req: ApiRequest) -> dict[str, Any]:
    """sendPhoto: multipart upload, a file_id the emulator issued, or an URL (never fetched)."""
    photo = req.params["photo"]
    fields = _caption_fields(req)
    files = core.world.files
    if isinstance(photo, UploadedFile):
        width, height = _check_photo(photo.data)
        core.writable_chat(req.params["chat_id"])  # fail before storing anything
        fields = {"photo": files.add_photo(photo.data, width, height), **fields}
    else:
        sizes = files.photo_sizes(photo)
        if sizes is None:
            stored = files.get(photo)
            if stored is not None:
                raise bad_request(f"can't use file of type {stored.kind.title()} as Photo")
            if not _URL.fullmatch(photo):
                raise bad_request("wrong file identifier/HTTP URL specified",
                                  reason=f"photo {photo[:80]!r} is no file_id the emulator issued")
            core.writable_chat(req.params["chat_id"])
            sizes = files.add_photo(None, 800, 600)  # URL: size unknown, never downloaded
        fields = {"photo": sizes, **fields}
    return _deliver(core, req, fields)


def _check_photo(data: bytes) -> tuple[int, int]:
    if len(data) > PHOTO_MAX_BYTES:
        raise bad_request("PHOTO_INVALID_DIMENSIONS",
                          reason=f"photo upload is {len(data)} bytes (> 10 MB)")
    size = image_size(data)
    if size is None:
        raise bad_request("IMAGE_PROCESS_FAILED", reason="uploaded photo is not a decodable image")
    width, height = size
    if width + height > 10_000 or max(width, height) > 20 * max(1, min(width, height)):
        raise bad_request("PHOTO_INVALID_DIMENSIONS", reason=f"photo is {width}x{height}")
    return width, height


def send_document(core: Core, req: ApiRequest) -> dict[str, Any]:
    """sendDocument: upload, issued file_id or URL."""
    doc = req.params["document"]
    fields = _caption_fields(req)
    files = core.world.files
    if isinstance(doc, UploadedFile):
        if len(doc.data) > DOCUMENT_MAX_BYTES:
            # Telegram answers oversized uploads with 413 before looking at anything else.
            raise ApiError(413, "Request Entity Too Large", violation=True,
                           reason=f"document upload is {len(doc.data)} bytes (> 50 MB)")
        core.writable_chat(req.params["chat_id"])
        result = files.add_document(doc.data, doc.filename, doc.content_type)
    else:
        stored = files.get(doc)
        if stored is not None and stored.kind != "document":
            raise bad_request(f"can't use file of type {stored.kind.title()} as Document")
        if stored is not None:
            result = document(stored)
        elif _URL.fullmatch(doc):
            core.writable_chat(req.params["chat_id"])
            name = doc.rstrip("/").rsplit("/", 1)[-1] or "file"
            result = files.add_document(None, name, None)
        else:
            raise bad_request("wrong file identifier/HTTP URL specified",
                              reason=f"document {doc[:80]!r} is no file_id the emulator issued")
    return _deliver(core, req, {"document": result, **fields})


def send_chat_action(core: Core, req: ApiRequest) -> bool:
    """sendChatAction."""
    action = req.params["action"]
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request", reason=f"action {action!r}")
    chat = core.writable_chat(req.params["chat_id"])
    core.thread(chat, req.params.get("message_thread_id"))
    return True


# --- edits and deletion ---------------------------------------------------------------


def _edit_target(core: Core, req: ApiRequest) -> tuple[dict[str, Any], bool]:
    """The message an edit refers to, and whether it is an inline message."""
    p = req.params
    world = core.world
    if "inline_message_id" in p:
        location = world.inline_messages.get(p["inline_message_id"])
        message = world.message(*location) if location else None
        if message is None:
            raise world_error(400, "MESSAGE_ID_INVALID")
        return message, True
    if "chat_id" not in p or "message_id" not in p:
        raise bad_request("message identifier is not specified",
                          reason="pass chat_id+message_id or inline_message_id")
    chat: ChatState = core.writable_chat(p["chat_id"])
    message = world.message(chat.id, p["message_id"])
    if message is None:
        raise world_error(400, "message to edit not found")
    if message["from"]["id"] != core.bot["id"]:
        raise world_error(400, "message can't be edited")
    return message, False


def _apply_edit(
    message: dict[str, Any], changes: dict[str, Any], inline: bool
) -> dict[str, Any] | bool:
    """Set or drop fields; identical content -> 'message is not modified'."""
    if all(message.get(key) == value for key, value in changes.items()):
        raise world_error(400, NOT_MODIFIED)
    for key, value in changes.items():
        if value is None:
            message.pop(key, None)
        else:
            message[key] = value
    message["edit_date"] = int(time.time())
    return True if inline else dict(message)


def edit_message_text(core: Core, req: ApiRequest) -> dict[str, Any] | bool:
    """editMessageText (omitting reply_markup removes the keyboard, as on Telegram)."""
    fields = _text_fields(req)
    message, inline = _edit_target(core, req)
    if "text" not in message:
        raise world_error(400, "there is no text in the message to edit")
    changes = {"text": fields["text"], "entities": fields.get("entities"),
               "reply_markup": _markup(req.params).get("reply_markup")}
    return _apply_edit(message, changes, inline)


def edit_message_caption(core: Core, req: ApiRequest) -> dict[str, Any] | bool:
    """editMessageCaption."""
    fields = _caption_fields(req)
    message, inline = _edit_target(core, req)
    if not any(k in message for k in ("photo", "document", "video", "animation", "audio")):
        raise world_error(400, "there is no caption in the message to edit")
    changes = {"caption": fields.get("caption"), "caption_entities": fields.get("caption_entities"),
               "reply_markup": _markup(req.params).get("reply_markup")}
    return _apply_edit(message, changes, inline)


def edit_message_reply_markup(core: Core, req: ApiRequest) -> dict[str, Any] | bool:
    """editMessageReplyMarkup."""
    message, inline = _edit_target(core, req)
    return _apply_edit(message, {"reply_markup": _markup(req.params).get("reply_markup")}, inline)


def delete_message(core: Core, req: ApiRequest) -> bool:
    """deleteMessage: own messages always; others' only in private chats or as an admin."""
    chat = core.writable_chat(req.params["chat_id"])
    message = core.world.message(chat.id, req.params["message_id"])
    if message is None:
        raise world_error(400, "message to delete not found")
    own = message["from"]["id"] == core.bot["id"]
    if not own and chat.type != "private" and chat.bot_status != "administrator":
        raise world_error(400, "message can't be deleted")
    chat.deleted.add(message["message_id"])
    return True


def get_file(core: Core, req: ApiRequest) -> dict[str, Any]:
    """getFile."""
    stored = core.world.files.get(req.params["file_id"])
    if stored is None:
        raise bad_request("invalid file_id",
                          reason=f"file_id {req.params['file_id'][:80]!r} was never issued")
    if stored.file_size > 20 * 1024 * 1024:
        raise world_error(400, "file is too big")
    return file_object(stored)


HANDLERS = {
    "sendMessage": send_message,
    "sendPhoto": send_photo,
    "sendDocument": send_document,
    "sendChatAction": send_chat_action,
    "editMessageText": edit_message_text,
    "editMessageCaption": edit_message_caption,
    "editMessageReplyMarkup": edit_message_reply_markup,
    "deleteMessage": delete_message,
    "getFile": get_file,
}
# Methods that put a message into a chat: flood control counts these.
SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})
