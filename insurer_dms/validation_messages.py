"""marshmallow's and webargs' own messages ("Missing data for required field.", "Must be greater than or equal to 1."...)
as message ids, shown in the user's language.

marshmallow only formats a message that is a ``str`` (``Field.make_error``), and ``Range`` fills in its operator words
when the validator is built, at import time, with no request to take a language from. So these messages are
``Message``: a ``str`` holding the English text, that remembers its id and every ``format()`` applied to it, and gives
the text in the current language when turned into a ``str`` (the error edge in errors.py does that). ``install()``
puts them on marshmallow's classes. It runs when this module is imported, which the ``insurer_dms`` package does
first of all: fields and validators copy their messages when they are built, so it must come before any schema
class body (ours, or one a module builds at import time).

It also lets ``marshmallow.ValidationError`` take a Flask-Babel lazy message (``_l(...)``) as it takes a ``str``: as
a list of one message, so the messages of a field are always a list.
"""
import marshmallow as ma
from flask_babel import gettext
from flask_babel.speaklater import LazyString
from marshmallow import fields, validate
from webargs import core as webargs_core
from webargs import fields as webargs_fields


class Message(str):
    """A message id with its ``format()`` arguments: English as a ``str``, the current language through ``str()``."""

    def __new__(cls, msgid, stages=()):
        message = super().__new__(cls, _render(msgid, stages, lambda text: text))
        message.msgid, message.stages = msgid, stages
        return message

    def format(self, *args, **kwargs):
        return Message(self.msgid, (*self.stages, (args, kwargs)))

    def __str__(self):
        return _render(self.msgid, self.stages, gettext)

    def __format__(self, spec):
        return format(str(self), spec)

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        return Message, (self.msgid, self.stages)


def _render(msgid, stages, translate):
    text = translate(msgid)
    for args, kwargs in stages:
        text = text.format(*[_argument(a, translate) for a in args], **{k: _argument(v, translate) for k, v in kwargs.items()})
    return text


def _argument(value, translate):
    if isinstance(value, Message):
        return _render(value.msgid, value.stages, translate)
    if isinstance(value, LazyString):
        return str(value)
    return value


def N_(msgid):  # noqa: N802 (the conventional name of a message marked for translation, extracted by Babel)
    """A marshmallow message id; ``{placeholders}`` are filled in by marshmallow, translated when shown."""
    return Message(msgid)


def _field_messages():
    # marshmallow words the temporal messages "Not a valid {obj_type}." with the English type name: whole sentences
    # per class instead, so each translates as one.
    return {
        fields.Field: {"required": N_("Missing data for required field."), "null": N_("Field may not be null."),
                       "validator_failed": N_("Invalid value.")},
        fields.Boolean: {"invalid": N_("Not a valid boolean.")},
        fields.Number: {"invalid": N_("Not a valid number."), "too_large": N_("Number too large.")},
        fields.Integer: {"invalid": N_("Not a valid integer.")},
        fields.Decimal: {"special": N_("Special numeric values (nan or infinity) are not permitted.")},
        fields.Float: {"special": N_("Special numeric values (nan or infinity) are not permitted.")},
        fields.String: {"invalid": N_("Not a valid string."), "invalid_utf8": N_("Not a valid utf-8 string.")},
        fields.Email: {"invalid": N_("Not a valid email address.")},
        fields.Url: {"invalid": N_("Not a valid URL.")},
        fields.UUID: {"invalid_uuid": N_("Not a valid UUID.")},
        fields.Enum: {"unknown": N_("Must be one of: {choices}.")},
        fields.List: {"invalid": N_("Not a valid list.")},
        fields.Tuple: {"invalid": N_("Not a valid tuple.")},
        fields.Mapping: {"invalid": N_("Not a valid mapping type.")},
        fields.Nested: {"type": N_("Invalid type.")},
        fields.TimeDelta: {"invalid": N_("Not a valid period of time."),
                           "format": N_("{input!r} cannot be formatted as a timedelta.")},
        fields.IP: {"invalid_ip": N_("Not a valid IP address.")},
        fields.IPv4: {"invalid_ip": N_("Not a valid IPv4 address.")},
        fields.IPv6: {"invalid_ip": N_("Not a valid IPv6 address.")},
        fields.IPInterface: {"invalid_ip_interface": N_("Not a valid IP interface.")},
        fields.IPv4Interface: {"invalid_ip_interface": N_("Not a valid IPv4 interface.")},
        fields.IPv6Interface: {"invalid_ip_interface": N_("Not a valid IPv6 interface.")},
        fields._TemporalField: {"invalid": N_("Not a valid {obj_type}."),  # noqa: SLF001 (marshmallow's base of the three below)
                                "invalid_awareness": N_("Not a valid {awareness} {obj_type}."),
                                "format": N_('"{input}" cannot be formatted as a {obj_type}.')},
        fields.DateTime: {"invalid": N_("Not a valid datetime."), "invalid_awareness": N_("Not a valid {awareness} datetime."),
                          "format": N_('"{input}" cannot be formatted as a datetime.')},
        fields.NaiveDateTime: {"invalid_awareness": N_("Not a valid naive datetime.")},
        fields.AwareDateTime: {"invalid_awareness": N_("Not a valid aware datetime.")},
        fields.Date: {"invalid": N_("Not a valid date."), "format": N_('"{input}" cannot be formatted as a date.')},
        fields.Time: {"invalid": N_("Not a valid time."), "format": N_('"{input}" cannot be formatted as a time.')},
        webargs_fields.DelimitedList: {"invalid": N_("Not a valid delimited list.")},
        webargs_fields.DelimitedTuple: {"invalid": N_("Not a valid delimited tuple.")},
    }


def _validator_messages():
    return {
        validate.Range: {
            "message_min": N_("Must be {min_op} {{min}}."),
            "message_max": N_("Must be {max_op} {{max}}."),
            "message_all": N_("Must be {min_op} {{min}} and {max_op} {{max}}."),
            "message_gte": N_("greater than or equal to"),
            "message_gt": N_("greater than"),
            "message_lte": N_("less than or equal to"),
            "message_lt": N_("less than"),
        },
        validate.Length: {
            "message_min": N_("Shorter than minimum length {min}."),
            "message_max": N_("Longer than maximum length {max}."),
            "message_all": N_("Length must be between {min} and {max}."),
            "message_equal": N_("Length must be {equal}."),
        },
        validate.URL: {"default_message": N_("Not a valid URL.")},
        validate.Email: {"default_message": N_("Not a valid email address.")},
        validate.Equal: {"default_message": N_("Must be equal to {other}.")},
        validate.Regexp: {"default_message": N_("String does not match expected pattern.")},
        validate.Predicate: {"default_message": N_("Invalid input.")},
        validate.NoneOf: {"default_message": N_("Invalid input.")},
        validate.OneOf: {"default_message": N_("Must be one of: {choices}.")},
        validate.ContainsOnly: {"default_message": N_("One or more of the choices you made was not in: {choices}.")},
        validate.ContainsNoneOf: {"default_message": N_("One or more of the choices you made was in: {values}.")},
    }


# Messages of the libraries that are no attribute to replace: translated by errors.py when it builds the body.
LIBRARY_TEXTS = {
    "Invalid JSON body.": N_("Invalid JSON body."),  # webargs' FlaskParser, a body that is not JSON
    # Flask-WTF's CSRF refusals (CSRFError's description)
    "The CSRF token is missing.": N_("The CSRF token is missing."),
    "The CSRF session token is missing.": N_("The CSRF session token is missing."),
    "The CSRF token has expired.": N_("The CSRF token has expired."),
    "The CSRF token is invalid.": N_("The CSRF token is invalid."),
    "The CSRF tokens do not match.": N_("The CSRF tokens do not match."),
    "The referrer header is missing.": N_("The referrer header is missing."),
    "The referrer does not match the host.": N_("The referrer does not match the host."),
}

_original_validation_error_init = ma.ValidationError.__init__


def _validation_error_init(self, message, *args, **kwargs):
    _original_validation_error_init(self, [message] if isinstance(message, LazyString) else message, *args, **kwargs)


def install():
    """Put the message ids on marshmallow's and webargs' classes (idempotent)."""
    for cls, messages in _field_messages().items():
        cls.default_error_messages = {**cls.__dict__.get("default_error_messages", {}), **messages}
    for cls, attributes in _validator_messages().items():
        for name, message in attributes.items():
            setattr(cls, name, message)
    ma.Schema._default_error_messages = {"type": N_("Invalid input type."), "unknown": N_("Unknown field.")}
    webargs_core.Parser.DEFAULT_VALIDATION_MESSAGE = N_("Invalid value.")
    ma.ValidationError.__init__ = _validation_error_init
    # A lazy message may carry what a user typed in its parameters, but Flask-Babel marks lazy strings as safe HTML
    # (``__html__``): Jinja would not escape one, and a flash would keep it as Markup. They are escaped like any text.
    if "__html__" in LazyString.__dict__:
        del LazyString.__html__


install()
