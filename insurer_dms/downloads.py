"""File downloads (CSV and XLSX exports) as HTTP responses."""
from flask import Response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def file_response(data, filename, mimetype):
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def csv_response(data, filename):
    return file_response(data, filename, "text/csv")


def xlsx_response(data, filename):
    return file_response(data, filename, XLSX)
