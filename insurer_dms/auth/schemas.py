import marshmallow as ma
from .. import fields


class UserSchema(ma.Schema):
    id = fields.Id(dump_only=True)
    email = fields.Email(required=True)
    role = fields.Function(lambda u: u.role.value, dump_only=True)
    company = fields.Function(lambda u: u.company.name if u.company else None, dump_only=True)
    locale = fields.String(dump_only=True, allow_none=True)
    active = fields.Boolean(dump_only=True)


class UserCreateSchema(ma.Schema):
    email = fields.Email(required=True)
    role = fields.String(required=True, validate=ma.validate.OneOf(["ops", "contractor", "reviewer"]))
    company = fields.String(load_default=None, allow_none=True)
    password = fields.String(load_default=None, allow_none=True, load_only=True, validate=ma.validate.Length(min=8))


class TokenCreateSchema(ma.Schema):
    name = fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=100))


class TokenSchema(ma.Schema):
    id = fields.Id()
    name = fields.String(allow_none=True)
    prefix = fields.String()
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class NewTokenSchema(TokenSchema):
    token = fields.String(metadata={"description": "Shown once; only its hash is stored."})
