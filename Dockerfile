# realname's container image, in the goreleaser style: nothing is compiled
# here. The context holds a static binary built beforehand
# (CGO_ENABLED=0 go build: the SQLite driver is pure Go, and the zone
# database is compiled in by config's time/tzdata import), the CA bundle,
# and two empty directories for the data volume and /tmp.
# deploy/image/build.sh lays out that context and builds this file with
# buildah, offline; `docker build` works on the same context.
#
# No HEALTHCHECK: orchestrators probe GET /healthz and GET /readyz
# themselves (deploy/kubernetes/deployment.yaml).
FROM scratch

COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
# SQLite may spill temporary tables to /tmp; a read-only root mounts a
# scratch volume there (the Kubernetes manifests do).
COPY tmp /tmp
COPY --chown=65532:65532 data /data
COPY realname /usr/local/bin/realname

# A numeric non-root user: the image has no /etc/passwd, and Kubernetes'
# runAsNonRoot can only check a number.
USER 65532:65532
WORKDIR /data
ENV REALNAME_DATA_DIR=/data \
    REALNAME_HTTP_ADDR=:8080
VOLUME /data
EXPOSE 8080

ENTRYPOINT ["/usr/local/bin/realname"]
CMD ["serve"]
