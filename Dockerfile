# shiftgrant as a container image, built from this repository:
#
#   docker build -t shiftgrant:0.1.0 .
#   docker run --rm shiftgrant:0.1.0 sync -c /opt/shiftgrant/examples/demo/shiftgrant.yaml
#
# The image holds what `npm pack` ships (the built CLI, the JSON Schema, the examples) and the
# production dependencies only, runs as an unprivileged user (uid 10001), and starts `shiftgrant`
# with the container's arguments. The access tools it calls (sdm, tctl, your grant command) are not
# in it: add them in an image built FROM this one, or mount them.

# Build stage: every dependency (TypeScript included) compiles src/ into dist/, then `npm pack`
# makes the release tarball, unpacked into /package.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json README.md ARCHITECTURE.md crontab.example ./
COPY docs/ docs/
COPY bin/ bin/
COPY src/ src/
COPY schema/ schema/
COPY examples/ examples/
RUN npm run build \
 && npm pack --ignore-scripts --pack-destination /tmp \
 && mkdir /package \
 && tar -xzf /tmp/shiftgrant-*.tgz -C /package --strip-components=1

# Runtime stage: the unpacked package and its production dependencies, installed from the lockfile.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /opt/shiftgrant
COPY --from=build /package/ ./
COPY package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 && ln -s /opt/shiftgrant/bin/shiftgrant.js /usr/local/bin/shiftgrant \
 && groupadd --system --gid 10001 shiftgrant \
 && useradd --system --uid 10001 --gid shiftgrant --home-dir /var/lib/shiftgrant --shell /usr/sbin/nologin shiftgrant \
 && mkdir -p /var/lib/shiftgrant \
 && chown shiftgrant:shiftgrant /var/lib/shiftgrant
# A numeric user, so that Kubernetes' runAsNonRoot can check it.
USER 10001:10001
WORKDIR /var/lib/shiftgrant
ENTRYPOINT ["shiftgrant"]
CMD ["--help"]
