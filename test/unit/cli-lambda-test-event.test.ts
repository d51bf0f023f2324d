/**
 * invoke --file with an API Gateway test event (SAM's events/event.json): the note says the whole
 * event goes as the body, and gives the invoke of the call it stands for (new-user round 12).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiGatewayCall, apiGatewayEventNote } from '../../cli/lambda-test-event.js';

// SAM's hello-world events/event.json (REST API, payload 1.0), headers shortened.
const SAM_EVENT = {
  body: '{"message": "hello world"}',
  resource: '/{proxy+}',
  path: '/path/to/resource',
  httpMethod: 'POST',
  isBase64Encoded: false,
  queryStringParameters: { foo: 'bar' },
  multiValueQueryStringParameters: { foo: ['bar', 'baz'] },
  pathParameters: { proxy: '/path/to/resource' },
  stageVariables: { baz: 'qux' },
  headers: { Accept: 'text/html', 'content-type': 'application/json', Host: '1234567890.execute-api.us-east-1.amazonaws.com' },
  requestContext: { stage: 'prod', httpMethod: 'POST' },
};

// An HTTP API (payload 2.0) event.
const HTTP_API_EVENT = {
  version: '2.0',
  routeKey: 'GET /items/{id}',
  rawPath: '/items/7',
  rawQueryString: 'a=1&a=2',
  headers: { accept: '*/*' },
  requestContext: { http: { method: 'GET', path: '/items/7' } },
  isBase64Encoded: false,
};

const buf = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

describe('invoke: an API Gateway test event given as the body', () => {
  it('reads the call of a REST (1.0) and an HTTP API (2.0) event', () => {
    assert.deepEqual(apiGatewayCall(buf(SAM_EVENT)), { method: 'POST', path: '/path/to/resource?foo=bar&foo=baz', contentType: 'application/json', body: '{"message": "hello world"}', base64: false });
    assert.deepEqual(apiGatewayCall(buf(HTTP_API_EVENT)), { method: 'GET', path: '/items/7?a=1&a=2', contentType: null, body: null, base64: false });
  });

  it('says the event goes whole as the body, with the invoke of its call', () => {
    assert.equal(
      apiGatewayEventNote(buf(SAM_EVENT), 'events/event.json', 'hello'),
      'note: events/event.json is an API Gateway test event (as `sam local invoke -e` takes it); invoke sends it whole as the request\'s body, so the handler\'s event["body"] is this JSON. The call it stands for: fastapi-platform invoke hello -X POST --path \'/path/to/resource?foo=bar&foo=baz\' -H \'Content-Type: application/json\' -d \'{"message": "hello world"}\' (the platform builds the event from the request; docs/migrating.md, "AWS Lambda")',
    );
    assert.match(apiGatewayEventNote(buf(HTTP_API_EVENT), 'e.json', 'api')!, /The call it stands for: fastapi-platform invoke api -X GET --path '\/items\/7\?a=1&a=2' \(/);
    assert.match(apiGatewayEventNote(buf({ ...SAM_EVENT, body: 'aGk=', isBase64Encoded: true }), 'e.json', 'api')!, / --file <its body, base64-decoded> \(/);
  });

  it('leaves other bodies alone', () => {
    for (const body of ['{"name": "Ada"}', '{"httpMethod": "POST"}', '[1, 2]', '{"a":', 'plain text', '{"rawPath": "/x", "requestContext": {}}']) {
      assert.equal(apiGatewayEventNote(Buffer.from(body), 'the body', 'api'), null, body);
    }
  });
});
