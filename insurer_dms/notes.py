"""Notes the system writes itself (a device's history, a ledger entry, a ticket's cost), in the user's language.

Such a note is stored as text in the default language (English, as jobs write it), made by ``write(message, ...)``
from one of the message ids below; a page shows it through ``shown`` (the Jinja filter ``note``), which recognises
the message and its values and translates it. A note a person typed matches none and is shown as it is; so are
the notes stored before a message was listed here.
"""
import re

from flask_babel import gettext


def N_(message):
    """A message id to extract, translated when it is shown."""
    return message


MESSAGES = (
    N_("Received on purchase order %(number)s, line %(line)s."),
    N_("Received on purchase order %(number)s, line %(line)s (file %(file)s)."),
    N_("work order %(order)s, truck %(plate)s"),
    N_("installed on %(plate)s by %(order)s"),
    N_("Fitting replacement device %(serial)s (installation fee, %(order)s)"),
    N_("install %(order)s"),
    N_("removal %(order)s"),
    N_("swap %(order)s"),
    N_("device %(serial)s"),
    N_("reverses entry %(id)s"),
)
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _pattern(message):
    parts, end = [], 0
    for match in _PLACEHOLDER.finditer(message):
        parts += [re.escape(message[end:match.start()]), f"(?P<{match[1]}>.+?)"]
        end = match.end()
    return re.compile("".join([*parts, re.escape(message[end:])]))


_PATTERNS = [(message, _pattern(message)) for message in MESSAGES]


def write(message, **values):
    """The note to store: ``message`` (one of MESSAGES) with its values, in English."""
    assert message in MESSAGES, message
    return message % values


def shown(text):
    """A stored note in the current language: a listed message translated with its values, anything else as it is."""
    if not text:
        return text
    for message, pattern in _PATTERNS:
        match = pattern.fullmatch(text)
        if match is not None:
            return gettext(message, **match.groupdict())
    return text
