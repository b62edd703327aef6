# One image for every Skyweave service and the sandbox cloud (which service: the compose file's `command`).
# Built on skyweave-base:bookworm (tools/compose/base-image.sh: Debian bookworm + Node.js + PostgreSQL + nats-server),
# because no image registry is reachable from these machines. Expects `npm ci` and `npm run build` done in the build
# context (npm run test:compose does both): the services start from the built JavaScript in dist/, with the npm packages
# they import from node_modules.
FROM skyweave-base:bookworm
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
COPY node_modules ./node_modules
COPY dist ./dist
RUN useradd --system --uid 10001 --home-dir /app skyweave && mkdir -p /shared && chown skyweave /shared
USER skyweave
