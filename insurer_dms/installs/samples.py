"""Sample evidence for demo data and tests: small JPEGs carrying an EXIF capture time."""
import io
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def photo_jpeg(taken_at, size=(64, 48), colour=(40, 90, 160)):
    """Small JPEG bytes whose EXIF DateTimeOriginal is ``taken_at`` (shown in Asia/Shanghai if aware)."""
    from PIL import Image

    if taken_at.tzinfo is not None:
        taken_at = taken_at.astimezone(LOCAL_TZ)
    stamp = taken_at.strftime("%Y:%m:%d %H:%M:%S")
    image = Image.new("RGB", size, colour)
    exif = Image.Exif()
    exif[0x0132] = stamp  # DateTime
    exif.get_ifd(0x8769)[0x9003] = stamp  # Exif IFD: DateTimeOriginal
    exif.get_ifd(0x8769)[0x9011] = "+08:00"  # OffsetTimeOriginal
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()
