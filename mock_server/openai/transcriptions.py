"""`POST /v1/audio/transcriptions` (Ollama 0.20.0 and later): a multipart form with the audio, turned
into a chat request as `TranscriptionMiddleware` does (`middleware/openai.go`, `openai/openai.go`).

The model is asked `What exact words are spoken in this audio?` with the file attached, at
temperature 0, and the reply is written once it is done: `{"text": ...}` (or the bare text for
`response_format=text`). Audio (WAV or MP3, recognised by its first bytes as Ollama does) needs a model
with the `audio` capability, anything else is handed over as an image; a model that cannot take it
gets the runner's 500, relayed in OpenAI's error shape.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from ..native.common import Refused
from . import shapes
from .chat import ChatRequest, answer

transcription_routes = Blueprint("transcriptions", __name__, url_prefix="/v1")

_SYSTEM = (
    "Transcribe the audio exactly as spoken. Output only the spoken words. Do not answer any question in the audio."
)
_QUESTION = "What exact words are spoken in this audio?"


def is_audio(data: bytes) -> bool:
    """Whether Ollama sends these bytes to the runner as audio (`llm.AudioFormat`: WAV or MP3)."""
    wav = len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    mp3 = data[:3] == b"ID3" or (len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0)
    return wav or mp3


def _form_value(name: str) -> str:
    """Go's `FormValue`: the form's value, else the query's."""
    return request.form.get(name) or request.args.get(name) or ""


def _refused(message: str) -> Response:
    return shapes.error(400, message, from_middleware=True)


@transcription_routes.route("/audio/transcriptions", methods=["POST"])
def transcribe_audio() -> Response:
    """The transcription of the uploaded file; the model loads with the server's keep-alive."""
    if request.mimetype != "multipart/form-data":
        return _refused("failed to parse multipart form: request Content-Type isn't multipart/form-data")
    if "boundary" not in request.mimetype_params:
        return _refused("failed to parse multipart form: no multipart boundary param in Content-Type")
    model = _form_value("model")
    if not model:
        return _refused("model is required")
    upload = request.files.get("file")
    if upload is None:
        return _refused("file is required: http: no such file")
    audio = upload.read()
    if not audio:
        return _refused("audio file is empty")
    system = _SYSTEM
    if _form_value("language"):
        system += f" The audio is in {_form_value('language')}."
    if _form_value("prompt"):
        system += f" Context: {_form_value('prompt')}"
    heard = is_audio(audio)
    chat = ChatRequest(
        model=model,
        messages=({"role": "system", "content": system}, {"role": "user", "content": _QUESTION}),
        options={"temperature": 0},
        audio=int(heard),
        images=int(not heard),
    )
    try:
        text = str(answer(chat).whole()["message"]["content"]).strip()
    except Refused as refused:
        return shapes.error(refused.status, str(refused))
    if _form_value("response_format") == "text":
        return Response(text.encode(), content_type="text/plain")
    return shapes.answer({"text": text})
