"""Every setting, read from the environment once, with its default."""
import os
from pathlib import Path

DEBIAN_CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"  # fonts-noto-cjk
INSTANCE_DIR = Path(os.environ.get("INSURER_DMS_INSTANCE", Path(__file__).resolve().parent.parent / "instance"))


def _bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database_url():
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{INSTANCE_DIR / 'insurer_dms.sqlite3'}"
    # Accept the plain postgres:// spellings that hosting platforms hand out.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _hours(spec):
    """``"urgent=24,high=48"`` -> {"urgent": 24.0, "high": 48.0}."""
    pairs = (item.split("=", 1) for item in spec.split(",") if item.strip())
    return {name.strip(): float(value) for name, value in pairs}


def from_environment():
    """The configuration mapping the application factory starts from."""
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY", "dev-only-secret-change-me"),
        "SQLALCHEMY_DATABASE_URI": _database_url(),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "RQ_QUEUE": os.environ.get("RQ_QUEUE", "insurer_dms"),
        "S3_ENDPOINT_URL": os.environ.get("S3_ENDPOINT_URL") or None,
        "S3_BUCKET": os.environ.get("S3_BUCKET") or None,
        "S3_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID") or None,
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY") or None,
        "OBJECTS_DIR": os.environ.get("OBJECTS_DIR", str(INSTANCE_DIR / "objects")),
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_UPLOAD_BYTES", 20 * 1024 * 1024)),
        # A JSON body: at most this many bytes (413) and this many levels of nesting (400).
        "JSON_MAX_BYTES": int(os.environ.get("JSON_MAX_BYTES", 2 * 1024 * 1024)),
        "JSON_MAX_DEPTH": int(os.environ.get("JSON_MAX_DEPTH", 32)),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Secure unless turned off: over plain http (scripts/serve turns it off) browsers would not send it back, except
        # to http://127.0.0.1 and localhost, which Chromium treats as secure (Werkzeug's test client ignores the flag):
        # the tests run with the default. HSTS is sent only while this is on.
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", True),
        "REMEMBER_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", True),
        # Failed logins allowed per e-mail address and per client address (Flask-Limiter's notation); a blocked try
        # is answered 429 with Retry-After. Counted in Redis when REDIS_URL is set, else in the process's memory.
        "LOGIN_LIMIT_PER_ACCOUNT": os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "10/minute"),
        "LOGIN_LIMIT_PER_ADDRESS": os.environ.get("LOGIN_LIMIT_PER_ADDRESS", "30/minute"),
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_HEADERS_ENABLED": True,  # Retry-After on the 429
        "RATELIMIT_KEY_PREFIX": "insurer_dms",
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,  # Redis down: count in memory rather than refuse every login
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "LANGUAGES": ["en", "zh_CN"],
        # flask-smorest / OpenAPI
        "API_TITLE": "insurer_dms",
        "API_VERSION": "1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": "/api/docs/static/",  # swagger-ui-bundle's files, served by insurer_dms.api_docs
        "WTF_CSRF_CHECK_DEFAULT": False,  # checked in auth.access for session requests only
        "WTF_CSRF_TIME_LIMIT": None,
        "PAGE_SIZE_MAX": 500,
        # "Export Excel" of a list (page or API ``format=xlsx``): at most this many rows, else refused (422)
        "EXPORT_MAX_ROWS": int(os.environ.get("EXPORT_MAX_ROWS", 100_000)),
        "PASSWORD_HASH_METHOD": os.environ.get("PASSWORD_HASH_METHOD", "scrypt"),
        # Installation programme
        "PROGRAMME_DEADLINE": os.environ.get("PROGRAMME_DEADLINE", "2021-06-30"),
        # days a truck newly insured after the deadline has to get its device (installs.due)
        "INSTALL_DUE_DAYS": int(os.environ.get("INSTALL_DUE_DAYS", 30)),
        "DEFAULT_INSTALLATION_FEE": os.environ.get("DEFAULT_INSTALLATION_FEE", "300.00"),  # CNY, when a company has none
        "PHOTO_MAX_BYTES": int(os.environ.get("PHOTO_MAX_BYTES", 10 * 1024 * 1024)),
        "PHOTO_CONTENT_TYPES": ("image/jpeg", "image/png"),
        "UPLOAD_URL_SECONDS": int(os.environ.get("UPLOAD_URL_SECONDS", 900)),
        # Viewing evidence: a photo larger than this many pixels is refused at registration (decoding is bounded);
        # the presigned S3 link a photo or thumbnail view redirects to lives this long.
        "PHOTO_MAX_PIXELS": int(os.environ.get("PHOTO_MAX_PIXELS", 50_000_000)),
        "EVIDENCE_URL_SECONDS": int(os.environ.get("EVIDENCE_URL_SECONDS", 300)),
        # Files bounded before they are parsed (imports.Limits): the catalogue, policy, SIM, plan, device,
        # road-check and online-status files; a carrier's XLSX statement; any XLSX part packed tighter than
        # XLSX_MAX_RATIO to 1 (Apache POI's default too) is refused from the zip directory alone.
        "IMPORT_MAX_BYTES": int(os.environ.get("IMPORT_MAX_BYTES", 5 * 1024 * 1024)),
        "IMPORT_MAX_ROWS": int(os.environ.get("IMPORT_MAX_ROWS", 100_000)),
        "IMPORT_XLSX_MAX_BYTES": int(os.environ.get("IMPORT_XLSX_MAX_BYTES", 100 * 1024 * 1024)),
        "STATEMENT_XLSX_MAX_ROWS": int(os.environ.get("STATEMENT_XLSX_MAX_ROWS", 200_000)),
        "STATEMENT_XLSX_MAX_BYTES": int(os.environ.get("STATEMENT_XLSX_MAX_BYTES", 256 * 1024 * 1024)),
        "XLSX_MAX_RATIO": int(os.environ.get("XLSX_MAX_RATIO", 100)),
        # The provincial supervision platform the devices report to (数据接入)
        "PLATFORM_HOST": os.environ.get("PLATFORM_HOST", "gdzdaq.example.gov.cn"),
        "PLATFORM_PORT": int(os.environ.get("PLATFORM_PORT", 7611)),
        "PROVINCE_CODE": os.environ.get("PROVINCE_CODE", "440000"),
        "CITY_CODE": os.environ.get("CITY_CODE", "445100"),
        "STATEMENT_MAX_BYTES": int(os.environ.get("STATEMENT_MAX_BYTES", 256 * 1024 * 1024)),
        # Carrier statements: rows read at most (a longer file is refused), and the share of the current version's
        # lines under which a new version is held for an operator's confirmation instead of superseding it.
        "STATEMENT_MAX_ROWS": int(os.environ.get("STATEMENT_MAX_ROWS", 5_000_000)),
        "STATEMENT_SHRINK_CONFIRM": float(os.environ.get("STATEMENT_SHRINK_CONFIRM", 0.9)),
        # Test-only: seconds a reconciliation sleeps between its steps, so a test can kill a worker mid-run.
        "RECONCILE_STEP_DELAY": float(os.environ.get("RECONCILE_STEP_DELAY", 0)),
        # Maintenance tickets: SLA hours per priority ("urgent=24,high=48,normal=72,low=168"), the share of the
        # SLA after which a ticket is at risk, and how long a connected device may be unseen before it gets a ticket.
        "TICKET_SLA_HOURS": _hours(os.environ.get("TICKET_SLA_HOURS", "urgent=24,high=48,normal=72,low=168")),
        "TICKET_AT_RISK_SHARE": float(os.environ.get("TICKET_AT_RISK_SHARE", 0.8)),
        "OFFLINE_TICKET_DAYS": int(os.environ.get("OFFLINE_TICKET_DAYS", 3)),
        # No-premium-increase audit: an unexplained residual above this many CNY is a finding.
        "AUDIT_RESIDUAL_TOLERANCE": os.environ.get("AUDIT_RESIDUAL_TOLERANCE", "1.00"),
        # The font of the audit report PDFs (Chinese and English): a TrueType/OpenType file or collection with
        # Simplified Chinese; Debian's fonts-noto-cjk by default (scripts/serve and scripts/test install it). Without
        # it publishing is refused.
        "PDF_CJK_FONT": os.environ.get("PDF_CJK_FONT") or DEBIAN_CJK_FONT,
        # Largest attachment operations may add to an answer to a reviewer's query (PDF, JPEG, PNG or XLSX).
        "QUERY_ATTACHMENT_MAX_BYTES": int(os.environ.get("QUERY_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)),
    }
