import marshmallow as ma


class UserSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    email = ma.fields.Email(required=True)
    role = ma.fields.Function(lambda u: u.role.value, dump_only=True)
    company = ma.fields.Function(lambda u: u.company.name if u.company else None, dump_only=True)
    locale = ma.fields.String(dump_only=True, allow_none=True)
    active = ma.fields.Boolean(dump_only=True)


class UserCreateSchema(ma.Schema):
    email = ma.fields.Email(required=True)
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(["ops", "contractor", "reviewer"]))
    company = ma.fields.String(load_default=None, allow_none=True)
    password = ma.fields.String(load_default=None, allow_none=True, load_only=True, validate=ma.validate.Length(min=8))


class TokenCreateSchema(ma.Schema):
    name = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=100))


class TokenSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String(allow_none=True)
    prefix = ma.fields.String()
    created_at = ma.fields.DateTime()
    last_used_at = ma.fields.DateTime(allow_none=True)
    revoked_at = ma.fields.DateTime(allow_none=True)


class NewTokenSchema(TokenSchema):
    token = ma.fields.String(metadata={"description": "Shown once; only its hash is stored."})
