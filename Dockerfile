# One image for every part; the command chooses which: `docker run IMAGE serve payments --host 0.0.0.0`.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 FLIGHTBOOK_HOME=/var/lib/flightbook
WORKDIR /app
COPY setup.py README.md cli.py ./
COPY flightbook ./flightbook
COPY migrations ./migrations
COPY data ./data
RUN pip install --no-cache-dir -e . && useradd --system flightbook && mkdir -p $FLIGHTBOOK_HOME \
    && chown flightbook $FLIGHTBOOK_HOME
USER flightbook
EXPOSE 8000 8001 8002 8003
ENTRYPOINT ["flightbook"]
CMD ["serve", "--host", "0.0.0.0"]
