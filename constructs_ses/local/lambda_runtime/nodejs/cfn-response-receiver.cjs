// Loaded with `node --require` before AWS's runtime client; inert unless
// _CONSTRUCTS_SES_CFN_RESPONSE names a local AWS's custom resource answer receiver (host:port),
// which only the local AWS's custom resource functions get.
//
// CloudFormation's ResponseURL is a pre-signed S3 URL, HTTPS on port 443, and aws-cdk-lib's
// Node.js handlers (the custom resource provider's entry point, AwsCustomResource, the Provider
// framework) send their answer with https.request({ hostname, path, method: "PUT" }), keeping
// only the URL's host and path. The local receiver is plain HTTP on a port of its own, so an
// HTTPS request to its host without a port is sent to it instead.
"use strict";

const receiver = process.env._CONSTRUCTS_SES_CFN_RESPONSE;
if (receiver) {
  const [host, port] = receiver.split(":");
  const http = require("node:http");
  const https = require("node:https");
  const request = https.request;
  https.request = function (options, ...rest) {
    const plain = typeof options === "object" && options !== null && !(options instanceof URL);
    if (plain && (options.hostname ?? options.host) === host && !options.port) {
      const { agent, ...kept } = options;
      return http.request({ ...kept, hostname: host, port: Number(port), protocol: "http:" }, ...rest);
    }
    return request.call(this, options, ...rest);
  };
}
