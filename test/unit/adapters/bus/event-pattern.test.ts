import { describe, expect, it } from 'vitest';
import {
  EventPatternError,
  matchesEventPattern,
  validateEventPattern,
} from '../../../../shared/adapters/bus/event-pattern';
import { checkExample, type PatternExample } from '../../../support/event-patterns';

/**
 * Tables of the examples in AWS's EventBridge user guide (pattern, event, expected), each named for
 * the doc section it comes from. Pages:
 *   eb-event-patterns                           "Amazon EventBridge event patterns"
 *   eb-event-patterns-null-values               "Matching null values and empty strings"
 *   eb-event-patterns-arrays                    "Arrays in Amazon EventBridge event patterns"
 *   eb-event-patterns-content-based-filtering   "Content filtering in Amazon EventBridge event patterns"
 *   eb-create-pattern-operators                 "Comparison operators for use in event patterns"
 * Where a doc example gives only the pattern, the event is the one the example's prose describes,
 * and the non-matching event is its nearest miss.
 */
type Example = PatternExample;
const check = checkExample;

// eb-event-patterns: "The following event shows a simple AWS event from Amazon EC2."
const ec2Event = (detail: Record<string, unknown>) => ({
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail,
});

// eb-event-patterns-null-values: the Amazon EC2 Auto Scaling event.
const autoScalingEvent = {
  version: '0',
  id: '3e3c153a-8339-4e30-8c35-687ebef853fe',
  'detail-type': 'EC2 Instance Launch Successful',
  source: 'aws.autoscaling',
  account: '123456789012',
  time: '2015-11-11T21:31:47Z',
  region: 'us-east-1',
  resources: [],
  detail: { eventVersion: '', responseElements: null },
};

// eb-event-patterns "Value matching": the (truncated) Amazon Macie Classic alert.
const macieAlert = (riskScore: number, triggerRisk: number) => ({
  version: '0',
  id: '3e355723-fca9-4de3-9fd7-154c289d6b59',
  'detail-type': 'Macie Alert',
  source: 'aws.macie',
  account: '123456789012',
  time: '2017-04-24T22:28:49Z',
  region: 'us-east-1',
  resources: [
    'arn:aws:macie:us-east-1:123456789012:trigger/trigger_id/alert/alert_id',
    'arn:aws:macie:us-east-1:123456789012:trigger/trigger_id',
  ],
  detail: {
    'notification-type': 'ALERT_CREATED',
    name: 'Scanning bucket policies',
    tags: ['Custom_Alert', 'Insider'],
    'risk-score': riskScore,
    trigger: { 'alert-type': 'basic', risk: triggerRisk },
  },
});

const detailOf = (detail: Record<string, unknown>) => ({ source: 'test-source', 'detail-type': 'test-detail-type', detail });

const eventPatternsPage: readonly Example[] = [
  {
    name: 'equals: matches the instance-termination pattern against the EC2 "terminated" event',
    pattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'], detail: { state: ['terminated'] } },
    event: ec2Event({ 'instance-id': 'i-1234567890abcdef0', state: 'terminated' }),
    matches: true,
  },
  {
    name: 'equals: does not match the instance-termination pattern when the state is "running"',
    pattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'], detail: { state: ['terminated'] } },
    event: ec2Event({ 'instance-id': 'i-1234567890abcdef0', state: 'running' }),
    matches: false,
  },
  {
    name: 'equals: does not match when the pattern names a field the event lacks ("must contain all the field names")',
    pattern: { source: ['aws.ec2'], detail: { 'instance-type': ['t2.micro'] } },
    event: ec2Event({ 'instance-id': 'i-1234567890abcdef0', state: 'terminated' }),
    matches: false,
  },
  {
    name: 'match values: "source": ["aws.ec2", "aws.fargate"] matches either source',
    pattern: { source: ['aws.ec2', 'aws.fargate'] },
    event: { ...ec2Event({}), source: 'aws.fargate' },
    matches: true,
  },
  {
    name: 'match values: "source": ["aws.ec2", "aws.fargate"] does not match "aws.ecs"',
    pattern: { source: ['aws.ec2', 'aws.fargate'] },
    event: { ...ec2Event({}), source: 'aws.ecs' },
    matches: false,
  },
  {
    name: 'field matching: "responseElements": [null] matches the Auto Scaling event',
    pattern: { source: ['aws.autoscaling'], 'detail-type': ['EC2 Instance Launch Successful'], detail: { responseElements: [null] } },
    event: autoScalingEvent,
    matches: true,
  },
  {
    name: 'value matching: risk-score 80 and nested trigger.risk 8 match the Macie alert',
    pattern: { source: ['aws.macie'], 'detail-type': ['Macie Alert'], detail: { 'risk-score': [80], trigger: { risk: [8] } } },
    event: macieAlert(80, 8),
    matches: true,
  },
  {
    name: 'value matching: does not match when the nested trigger.risk is 7 (every field must match)',
    pattern: { source: ['aws.macie'], 'detail-type': ['Macie Alert'], detail: { 'risk-score': [80], trigger: { risk: [8] } } },
    event: macieAlert(80, 7),
    matches: false,
  },
];

const nullValuesPage: readonly Example[] = [
  {
    name: 'empty string: "eventVersion": [""] matches an empty eventVersion',
    pattern: { detail: { eventVersion: [''] } },
    event: autoScalingEvent,
    matches: true,
  },
  {
    name: 'null: "responseElements": [null] matches a null responseElements',
    pattern: { detail: { responseElements: [null] } },
    event: autoScalingEvent,
    matches: true,
  },
  {
    name: 'empty string: [""] does not match null ("not interchangeable")',
    pattern: { detail: { responseElements: [''] } },
    event: autoScalingEvent,
    matches: false,
  },
  {
    name: 'null: [null] does not match an empty string ("not interchangeable")',
    pattern: { detail: { eventVersion: [null] } },
    event: autoScalingEvent,
    matches: false,
  },
  {
    name: 'null: [null] does not match a missing field',
    pattern: { detail: { errorCode: [null] } },
    event: autoScalingEvent,
    matches: false,
  },
];

const arrayPattern = {
  resources: [
    'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
    'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
    'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
  ],
};

const arraysPage: readonly Example[] = [
  {
    name: 'arrays: matches when the pattern array and the event array intersect',
    pattern: arrayPattern,
    event: {
      resources: [
        'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate',
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
      ],
    },
    matches: true,
  },
  {
    name: 'arrays: does not match when the intersection is empty',
    pattern: arrayPattern,
    event: { resources: ['arn:aws:ec2:us-east-1:999999999999:instance/i-b188560f'] },
    matches: false,
  },
  {
    name: 'arrays: does not match an empty event array',
    pattern: arrayPattern,
    event: { resources: [] },
    matches: false,
  },
];

const contentFilteringPage: readonly Example[] = [
  // § Prefix matching
  {
    name: 'prefix: matches "time": [{"prefix": "2017-10-02"}] against "2017-10-02T18:43:48Z"',
    pattern: { time: [{ prefix: '2017-10-02' }] },
    event: { time: '2017-10-02T18:43:48Z' },
    matches: true,
  },
  {
    name: 'prefix: does not match "time": [{"prefix": "2017-10-02"}] against "2017-10-03T18:43:48Z"',
    pattern: { time: [{ prefix: '2017-10-02' }] },
    event: { time: '2017-10-03T18:43:48Z' },
    matches: false,
  },
  // § Prefix matching while ignoring case
  {
    name: 'prefix equals-ignore-case: {"prefix": {"equals-ignore-case": "EventB"}} matches "EVENTBRIDGE"',
    pattern: { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } },
    event: detailOf({ service: 'EVENTBRIDGE' }),
    matches: true,
  },
  {
    name: 'prefix equals-ignore-case: {"prefix": {"equals-ignore-case": "EventB"}} does not match "Event Bus"',
    pattern: { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } },
    event: detailOf({ service: 'Event Bus' }),
    matches: false,
  },
  // § Suffix matching
  {
    name: 'suffix: "FileName": [{"suffix": ".png"}] matches "image.png"',
    pattern: { FileName: [{ suffix: '.png' }] },
    event: { FileName: 'image.png' },
    matches: true,
  },
  {
    name: 'suffix: "FileName": [{"suffix": ".png"}] does not match "image.PNG" (case-sensitive)',
    pattern: { FileName: [{ suffix: '.png' }] },
    event: { FileName: 'image.PNG' },
    matches: false,
  },
  // § Suffix matching while ignoring case
  {
    name: 'suffix equals-ignore-case: {"suffix": {"equals-ignore-case": ".png"}} matches "image.PNG"',
    pattern: { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } },
    event: detailOf({ FileName: 'image.PNG' }),
    matches: true,
  },
  {
    name: 'suffix equals-ignore-case: {"suffix": {"equals-ignore-case": ".png"}} does not match "image.png.bak"',
    pattern: { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } },
    event: detailOf({ FileName: 'image.png.bak' }),
    matches: false,
  },
  // § Anything-but matching
  {
    name: 'anything-but: "state": [{"anything-but": "initializing"}] matches "running"',
    pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } },
    event: detailOf({ state: 'running' }),
    matches: true,
  },
  {
    name: 'anything-but: "state": [{"anything-but": "initializing"}] does not match "initializing"',
    pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } },
    event: detailOf({ state: 'initializing' }),
    matches: false,
  },
  {
    name: 'anything-but: "x-limit": [{"anything-but": 123}] matches 456',
    pattern: { detail: { 'x-limit': [{ 'anything-but': 123 }] } },
    event: detailOf({ 'x-limit': 456 }),
    matches: true,
  },
  {
    name: 'anything-but: "x-limit": [{"anything-but": 123}] does not match 123',
    pattern: { detail: { 'x-limit': [{ 'anything-but': 123 }] } },
    event: detailOf({ 'x-limit': 123 }),
    matches: false,
  },
  {
    name: 'anything-but list: [{"anything-but": ["stopped", "overloaded"]}] matches "running"',
    pattern: { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } },
    event: detailOf({ state: 'running' }),
    matches: true,
  },
  {
    name: 'anything-but list: [{"anything-but": ["stopped", "overloaded"]}] does not match "overloaded"',
    pattern: { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } },
    event: detailOf({ state: 'overloaded' }),
    matches: false,
  },
  {
    name: 'anything-but list: [{"anything-but": [100, 200, 300]}] matches 150',
    pattern: { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } },
    event: detailOf({ 'x-limit': 150 }),
    matches: true,
  },
  {
    name: 'anything-but list: [{"anything-but": [100, 200, 300]}] does not match 300.0 (compared as numbers)',
    pattern: { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } },
    event: JSON.parse('{"detail": {"x-limit": 300.0}}'),
    matches: false,
  },
  {
    name: 'anything-but prefix: [{"anything-but": {"prefix": "init"}}] matches "running"',
    pattern: { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
    event: detailOf({ state: 'running' }),
    matches: true,
  },
  {
    name: 'anything-but prefix: [{"anything-but": {"prefix": "init"}}] does not match "initializing"',
    pattern: { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
    event: detailOf({ state: 'initializing' }),
    matches: false,
  },
  {
    name: 'anything-but suffix: [{"anything-but": {"suffix": ".txt"}}] matches "file.txt.bak"',
    pattern: { detail: { FileName: [{ 'anything-but': { suffix: '.txt' } }] } },
    event: detailOf({ FileName: 'file.txt.bak' }),
    matches: true,
  },
  {
    name: 'anything-but suffix: [{"anything-but": {"suffix": ".txt"}}] does not match "file.txt"',
    pattern: { detail: { FileName: [{ 'anything-but': { suffix: '.txt' } }] } },
    event: detailOf({ FileName: 'file.txt' }),
    matches: false,
  },
  {
    name: 'anything-but equals-ignore-case: [{"anything-but": {"equals-ignore-case": "initializing"}}] matches "pending"',
    pattern: { detail: { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] } },
    event: detailOf({ state: 'pending' }),
    matches: true,
  },
  {
    name: 'anything-but equals-ignore-case: [{"anything-but": {"equals-ignore-case": "initializing"}}] does not match "INITIALIZING"',
    pattern: { detail: { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] } },
    event: detailOf({ state: 'INITIALIZING' }),
    matches: false,
  },
  {
    name: 'anything-but equals-ignore-case list: ["initializing", "stopped"] matches "pending"',
    pattern: { detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['initializing', 'stopped'] } }] } },
    event: detailOf({ state: 'pending' }),
    matches: true,
  },
  {
    name: 'anything-but equals-ignore-case list: ["initializing", "stopped"] does not match "Stopped"',
    pattern: { detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['initializing', 'stopped'] } }] } },
    event: detailOf({ state: 'Stopped' }),
    matches: false,
  },
  {
    name: 'anything-but wildcard: "FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}] matches "/usr/bin/tool"',
    pattern: { detail: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] } },
    event: detailOf({ FilePath: '/usr/bin/tool' }),
    matches: true,
  },
  {
    name: 'anything-but wildcard: "FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}] does not match "/usr/lib/tool"',
    pattern: { detail: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] } },
    event: detailOf({ FilePath: '/usr/lib/tool' }),
    matches: false,
  },
  {
    name: 'anything-but wildcard list: {"wildcard": ["*/lib/*", "*/bin/*"]} does not match "/usr/bin/tool"',
    pattern: { detail: { FilePath: [{ 'anything-but': { wildcard: ['*/lib/*', '*/bin/*'] } }] } },
    event: detailOf({ FilePath: '/usr/bin/tool' }),
    matches: false,
  },
  // § Numeric matching
  {
    name: 'numeric: c-count (0, 5], d-count < 10 and x-limit = 3.018e2 match 5, 9 and 301.8',
    pattern: {
      detail: {
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ numeric: ['=', 3.018e2] }],
      },
    },
    event: detailOf({ 'c-count': 5, 'd-count': 9, 'x-limit': 301.8 }),
    matches: true,
  },
  {
    name: 'numeric: does not match when c-count is 0 (the range is open at 0)',
    pattern: {
      detail: {
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ numeric: ['=', 3.018e2] }],
      },
    },
    event: detailOf({ 'c-count': 0, 'd-count': 9, 'x-limit': 301.8 }),
    matches: false,
  },
  {
    name: 'numeric: does not match a string that reads as a number ("only works with values that are JSON numbers")',
    pattern: { detail: { 'd-count': [{ numeric: ['<', 10] }] } },
    event: detailOf({ 'd-count': '9' }),
    matches: false,
  },
  // § IP address matching
  {
    name: 'cidr: "sourceIPAddress": [{"cidr": "10.0.0.0/24"}] matches "10.0.0.255"',
    pattern: { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } },
    event: detailOf({ sourceIPAddress: '10.0.0.255' }),
    matches: true,
  },
  {
    name: 'cidr: "sourceIPAddress": [{"cidr": "10.0.0.0/24"}] does not match "10.0.1.1"',
    pattern: { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } },
    event: detailOf({ sourceIPAddress: '10.0.1.1' }),
    matches: false,
  },
  {
    name: 'cidr IPv6: [{"cidr": "2001:db8:1234:1a00::/64"}] matches "2001:0db8:1234:1a00:0000:0000:0000:0001"',
    pattern: { detail: { sourceIPAddress: [{ cidr: '2001:db8:1234:1a00::/64' }] } },
    event: detailOf({ sourceIPAddress: '2001:0db8:1234:1a00:0000:0000:0000:0001' }),
    matches: true,
  },
  {
    name: 'cidr IPv6: [{"cidr": "2001:db8:1234:1a00::/64"}] does not match "2001:db8:1234:1a01::1"',
    pattern: { detail: { sourceIPAddress: [{ cidr: '2001:db8:1234:1a00::/64' }] } },
    event: detailOf({ sourceIPAddress: '2001:db8:1234:1a01::1' }),
    matches: false,
  },
  // § Exists matching
  {
    name: 'exists: "state": [{"exists": true}] matches the EC2 event that has detail.state',
    pattern: { detail: { state: [{ exists: true }] } },
    event: ec2Event({ 'instance-id': 'i-abcd1111', state: 'pending' }),
    matches: true,
  },
  {
    name: 'exists: "state": [{"exists": true}] does not match an event without detail.state',
    pattern: { detail: { state: [{ exists: true }] } },
    event: ec2Event({ 'c-count': { c1: 100 } }),
    matches: false,
  },
  {
    name: 'exists: "c-count": [{"exists": false}] matches an event without detail.c-count',
    pattern: { detail: { 'c-count': [{ exists: false }] } },
    event: ec2Event({ state: ['initializing', 'running'] }),
    matches: true,
  },
  {
    name: 'exists: "c-count": [{"exists": false}] also matches when c-count is an object ("c-count isn\'t a leaf node")',
    pattern: { detail: { 'c-count': [{ exists: false }] } },
    event: ec2Event({ state: ['initializing', 'running'], 'c-count': { c1: 100 } }),
    matches: true,
  },
  {
    name: 'exists: "c-count": [{"exists": false}] does not match when c-count is 5',
    pattern: { detail: { 'c-count': [{ exists: false }] } },
    event: ec2Event({ 'c-count': 5 }),
    matches: false,
  },
  // § Equals-ignore-case matching
  {
    name: 'equals-ignore-case: "detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}] matches the EC2 event',
    pattern: { 'detail-type': [{ 'equals-ignore-case': 'ec2 instance state-change notification' }] },
    event: ec2Event({}),
    matches: true,
  },
  {
    name: 'equals-ignore-case: does not match "EC2 Instance Launch Successful"',
    pattern: { 'detail-type': [{ 'equals-ignore-case': 'ec2 instance state-change notification' }] },
    event: { ...ec2Event({}), 'detail-type': 'EC2 Instance Launch Successful' },
    matches: false,
  },
  // § Wildcard matching
  {
    name: 'wildcard: "EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}] matches any account\'s bus',
    pattern: { EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] },
    event: { EventBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/myEventBus' },
    matches: true,
  },
  {
    name: 'wildcard: "arn:aws:events:us-east-1:*:event-bus/*" does not match a us-west-2 bus',
    pattern: { EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] },
    event: { EventBusArn: 'arn:aws:events:us-west-2:123456789012:event-bus/myEventBus' },
    matches: false,
  },
  {
    name: 'wildcard: "/Users/*/dir/dir/dir/dir/dir/doc.txt" matches "/Users/ls_user/dir/dir/dir/dir/dir/doc.txt" (repeating sequences)',
    pattern: { FileName: [{ wildcard: '/Users/*/dir/dir/dir/dir/dir/doc.txt' }] },
    event: { FileName: '/Users/ls_user/dir/dir/dir/dir/dir/doc.txt' },
    matches: true,
  },
  {
    name: 'wildcard: "\\\\*" is a literal star: "file\\\\*.txt" matches "file*.txt"',
    pattern: { FileName: [{ wildcard: 'file\\*.txt' }] },
    event: { FileName: 'file*.txt' },
    matches: true,
  },
  {
    name: 'wildcard: "file\\\\*.txt" does not match "file1.txt"',
    pattern: { FileName: [{ wildcard: 'file\\*.txt' }] },
    event: { FileName: 'file1.txt' },
    matches: false,
  },
  {
    name: 'wildcard: "\\\\\\\\" is a literal backslash: "C:\\\\\\\\*" matches "C:\\\\temp"',
    pattern: { FileName: [{ wildcard: 'C:\\\\*' }] },
    event: { FileName: 'C:\\temp' },
    matches: true,
  },
  // § Complex example with multiple matching
  {
    name: 'complex: prefix, anything-but and numeric together match an event meeting all of them',
    pattern: {
      time: [{ prefix: '2017-10-02' }],
      detail: {
        state: [{ 'anything-but': 'initializing' }],
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ 'anything-but': [100, 200, 300] }],
      },
    },
    event: { time: '2017-10-02T16:24:49Z', detail: { state: 'running', 'c-count': 5, 'd-count': 3, 'x-limit': 301.8 } },
    matches: true,
  },
  {
    name: 'complex: does not match when one of the fields (x-limit 200) fails',
    pattern: {
      time: [{ prefix: '2017-10-02' }],
      detail: {
        state: [{ 'anything-but': 'initializing' }],
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ 'anything-but': [100, 200, 300] }],
      },
    },
    event: { time: '2017-10-02T16:24:49Z', detail: { state: 'running', 'c-count': 5, 'd-count': 3, 'x-limit': 200 } },
    matches: false,
  },
  // § Complex example with $or matching
  {
    name: '$or: c-count (0, 5] or d-count < 10 or x-limit = 3.018e2 matches d-count 0 alone',
    pattern: {
      detail: {
        $or: [{ 'c-count': [{ numeric: ['>', 0, '<=', 5] }] }, { 'd-count': [{ numeric: ['<', 10] }] }, { 'x-limit': [{ numeric: ['=', 3.018e2] }] }],
      },
    },
    event: detailOf({ 'c-count': 0, 'd-count': 0, 'x-limit': 9.018e2 }),
    matches: true,
  },
  {
    name: '$or: does not match when no branch does (c-count 0, d-count 10, x-limit 901.8)',
    pattern: {
      detail: {
        $or: [{ 'c-count': [{ numeric: ['>', 0, '<=', 5] }] }, { 'd-count': [{ numeric: ['<', 10] }] }, { 'x-limit': [{ numeric: ['=', 3.018e2] }] }],
      },
    },
    event: detailOf({ 'c-count': 0, 'd-count': 10, 'x-limit': 9.018e2 }),
    matches: false,
  },
];

const operatorsTable: readonly Example[] = [
  {
    name: 'and: "Location": ["New York"], "Day": ["Monday"] matches New York on Monday',
    pattern: { Location: ['New York'], Day: ['Monday'] },
    event: { Location: 'New York', Day: 'Monday' },
    matches: true,
  },
  {
    name: 'and: "Location": ["New York"], "Day": ["Monday"] does not match New York on Tuesday',
    pattern: { Location: ['New York'], Day: ['Monday'] },
    event: { Location: 'New York', Day: 'Tuesday' },
    matches: false,
  },
  {
    name: 'or: "PaymentType": ["Credit", "Debit"] matches "Debit"',
    pattern: { PaymentType: ['Credit', 'Debit'] },
    event: { PaymentType: 'Debit' },
    matches: true,
  },
  {
    name: 'or (multiple fields): "$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}] matches Boston on Monday',
    pattern: { $or: [{ Location: ['New York'] }, { Day: ['Monday'] }] },
    event: { Location: 'Boston', Day: 'Monday' },
    matches: true,
  },
  {
    name: 'or (multiple fields): "$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}] does not match Boston on Tuesday',
    pattern: { $or: [{ Location: ['New York'] }, { Day: ['Monday'] }] },
    event: { Location: 'Boston', Day: 'Tuesday' },
    matches: false,
  },
  {
    name: 'not: "Weather": [{"anything-but": ["Raining"]}] matches "Sunny"',
    pattern: { Weather: [{ 'anything-but': ['Raining'] }] },
    event: { Weather: 'Sunny' },
    matches: true,
  },
  {
    name: 'equals (ignore case): "Name": [{"equals-ignore-case": "alice"}] matches "Alice"',
    pattern: { Name: [{ 'equals-ignore-case': 'alice' }] },
    event: { Name: 'Alice' },
    matches: true,
  },
  {
    name: 'equals (ignore case): "Name": [{"equals-ignore-case": "alice"}] does not match "Alicia"',
    pattern: { Name: [{ 'equals-ignore-case': 'alice' }] },
    event: { Name: 'Alicia' },
    matches: false,
  },
  {
    name: 'ends with (ignore case): {"suffix": {"equals-ignore-case": "tBridge"}} matches "EVENTBRIDGE"',
    pattern: { service: [{ suffix: { 'equals-ignore-case': 'tBridge' } }] },
    event: { service: 'EVENTBRIDGE' },
    matches: true,
  },
  {
    name: 'anything-but (begins with): "Region": [{"anything-but": {"prefix": "us-"}}] does not match "us-east-1"',
    pattern: { Region: [{ 'anything-but': { prefix: 'us-' } }] },
    event: { Region: 'us-east-1' },
    matches: false,
  },
  {
    name: 'anything-but (begins with): "Region": [{"anything-but": {"prefix": "us-"}}] matches "eu-west-1"',
    pattern: { Region: [{ 'anything-but': { prefix: 'us-' } }] },
    event: { Region: 'eu-west-1' },
    matches: true,
  },
  {
    name: 'numeric (equals): "Price": [{"numeric": ["=", 100]}] matches 100',
    pattern: { Price: [{ numeric: ['=', 100] }] },
    event: { Price: 100 },
    matches: true,
  },
  {
    name: 'numeric (range): "Price": [{"numeric": [">", 10, "<=", 20]}] matches 20 (upper bound inclusive)',
    pattern: { Price: [{ numeric: ['>', 10, '<=', 20] }] },
    event: { Price: 20 },
    matches: true,
  },
  {
    name: 'numeric (range): "Price": [{"numeric": [">", 10, "<=", 20]}] does not match 10',
    pattern: { Price: [{ numeric: ['>', 10, '<=', 20] }] },
    event: { Price: 10 },
    matches: false,
  },
  {
    name: 'does not exist: "ProductName": [{"exists": false}] does not match a present ProductName',
    pattern: { ProductName: [{ exists: false }] },
    event: { ProductName: 'Widget' },
    matches: false,
  },
  {
    name: 'wildcard: "FileName": [{"wildcard": "dir/*.png"}] matches "dir/dir/dir/dir/dir/doc.png"',
    pattern: { FileName: [{ wildcard: 'dir/*.png' }] },
    event: { FileName: 'dir/dir/dir/dir/dir/doc.png' },
    matches: true,
  },
  {
    name: 'wildcard: "FileName": [{"wildcard": "dir/*.png"}] does not match "other/doc.png"',
    pattern: { FileName: [{ wildcard: 'dir/*.png' }] },
    event: { FileName: 'other/doc.png' },
    matches: false,
  },
];

// Behaviour the docs leave implicit, as Event Ruler (and TestEventPattern) settle it.
const rulerSemantics: readonly Example[] = [
  {
    name: 'arrays of objects: fields of one nested pattern must match within the same element',
    pattern: { employees: { firstName: ['Anna'], lastName: ['Jones'] } },
    event: { employees: [{ firstName: 'Anna', lastName: 'Smith' }, { firstName: 'Peter', lastName: 'Jones' }] },
    matches: false,
  },
  {
    name: 'arrays of objects: matches when one element satisfies the nested pattern',
    pattern: { employees: { firstName: ['Anna'], lastName: ['Smith'] } },
    event: { employees: [[{ firstName: 'John', lastName: 'Doe' }], [{ firstName: 'Anna', lastName: 'Smith' }]] },
    matches: true,
  },
  {
    name: 'arrays: a prefix matches any element of an event array',
    pattern: { detail: { tags: [{ prefix: 'Insi' }] } },
    event: macieAlert(80, 8),
    matches: true,
  },
  {
    name: 'equals: 300 matches 300.0 (Ruler also matches pattern numbers numerically)',
    pattern: { detail: { limit: [300] } },
    event: JSON.parse('{"detail": {"limit": 3.0e2}}'),
    matches: true,
  },
  {
    name: 'equals: the string "300" does not match the number 300',
    pattern: { detail: { limit: ['300'] } },
    event: detailOf({ limit: 300 }),
    matches: false,
  },
  {
    name: 'equals: true matches a boolean true but not the string "true"',
    pattern: { detail: { enabled: [true] } },
    event: detailOf({ enabled: 'true' }),
    matches: false,
  },
  {
    name: 'prefix: only matches strings, so {"prefix": "1"} does not match 12',
    pattern: { detail: { count: [{ prefix: '1' }] } },
    event: detailOf({ count: 12 }),
    matches: false,
  },
  {
    name: 'anything-but: does not match a missing field',
    pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } },
    event: detailOf({}),
    matches: false,
  },
  {
    name: 'anything-but: matches null, which is a value other than the excluded one',
    pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } },
    event: detailOf({ state: null }),
    matches: true,
  },
  {
    name: 'anything-but prefix: matches a number, which has no prefix to exclude',
    pattern: { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
    event: detailOf({ state: 12 }),
    matches: true,
  },
  {
    name: 'exists: true matches a null value (null is a leaf)',
    pattern: { detail: { responseElements: [{ exists: true }] } },
    event: autoScalingEvent,
    matches: true,
  },
  {
    name: 'exists: false matches an empty array (no leaf values)',
    pattern: { resources: [{ exists: false }] },
    event: autoScalingEvent,
    matches: true,
  },
  {
    name: 'exists: false under a missing parent object matches',
    pattern: { detail: { level1: { level2: { level3: [{ exists: false }] } } } },
    event: detailOf({ level1: { other: 'x' } }),
    matches: true,
  },
  {
    name: 'exists: an alternative list ["a", {"exists": false}] matches a missing field',
    pattern: { detail: { state: ['a', { exists: false }] } },
    event: detailOf({}),
    matches: true,
  },
  {
    name: 'nesting: a pattern object does not match a JSON string holding that object',
    pattern: { detail: { 'my-key': ['my-value'] } },
    event: { detail: '{"my-key": "my-value"}' },
    matches: false,
  },
  {
    name: "$or: a branch's nested key may hold ':' (a tag key such as tunewire:job-id), taken literally",
    pattern: { detail: { $or: [{ TuningJobArn: [{ exists: true }] }, { Tags: { 'tunewire:job-id': [{ exists: true }] } }] } },
    event: detailOf({ Tags: { 'tunewire:job-id': 'j1' } }),
    matches: true,
  },
  {
    name: "$or: a key with ':' is not a path: { Tags: { tunewire: { job-id } } } does not match it",
    pattern: { detail: { $or: [{ TuningJobArn: [{ exists: true }] }, { Tags: { 'tunewire:job-id': [{ exists: true }] } }] } },
    event: detailOf({ Tags: { tunewire: { 'job-id': 'j1' } } }),
    matches: false,
  },
  {
    name: '$or: nested $or inside a branch ("source" and (metricName or (namespace and (metricId or spaceId))))',
    pattern: {
      source: ['aws.cloudwatch'],
      $or: [{ metricName: ['CPUUtilization'] }, { namespace: ['AWS/EC2'], $or: [{ metricId: [1234] }, { spaceId: [1000] }] }],
    },
    event: { source: 'aws.cloudwatch', namespace: 'AWS/EC2', spaceId: 1000 },
    matches: true,
  },
  {
    name: 'cidr: does not match a non-string value',
    pattern: { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } },
    event: detailOf({ sourceIPAddress: 123 }),
    matches: false,
  },
  {
    name: 'cidr: an IPv4 block does not match an IPv6 address',
    pattern: { detail: { sourceIPAddress: [{ cidr: '0.0.0.0/0' }] } },
    event: detailOf({ sourceIPAddress: '::1' }),
    matches: false,
  },
];

describe('matchesEventPattern', () => {
  describe('Amazon EventBridge event patterns (eb-event-patterns)', () => {
    it.each(eventPatternsPage)('$name', check);
  });

  describe('Matching null values and empty strings (eb-event-patterns-null-values)', () => {
    it.each(nullValuesPage)('$name', check);
  });

  describe('Arrays in Amazon EventBridge event patterns (eb-event-patterns-arrays)', () => {
    it.each(arraysPage)('$name', check);
  });

  describe('Content filtering in Amazon EventBridge event patterns (eb-event-patterns-content-based-filtering)', () => {
    it.each(contentFilteringPage)('$name', check);
  });

  describe('Comparison operators for use in event patterns (eb-create-pattern-operators)', () => {
    it.each(operatorsTable)('$name', check);
  });

  describe('Event Ruler semantics the docs leave implicit', () => {
    it.each(rulerSemantics)('$name', check);
  });

  it('validates a pattern it was handed unvalidated, and throws if it is invalid', () => {
    expect(matchesEventPattern({ source: ['aws.ec2'] }, ec2Event({}))).toBe(true);
    expect(() => matchesEventPattern({ source: 'aws.ec2' }, ec2Event({}))).toThrow(EventPatternError);
  });

  it('treats an event that is not an object as having no fields', () => {
    expect(matchesEventPattern(validateEventPattern({ source: [{ exists: false }] }), 'not an event')).toBe(true);
    expect(matchesEventPattern(validateEventPattern({ source: ['aws.ec2'] }), null)).toBe(false);
  });

  it('reads a field of arrays nested 10,000 deep without overflowing the stack', () => {
    let deep: unknown = 'running';
    for (let i = 0; i < 10_000; i++) deep = [deep];

    expect(matchesEventPattern(validateEventPattern({ detail: { state: ['running'] } }), ec2Event({ state: deep }))).toBe(true);
    expect(matchesEventPattern(validateEventPattern({ detail: { state: [{ exists: true }] } }), ec2Event({ state: deep }))).toBe(true);
    expect(matchesEventPattern(validateEventPattern({ detail: { state: { name: ['x'] } } }), ec2Event({ state: deep }))).toBe(false);
  });

  it('keeps the order of leaves in nested arrays', () => {
    expect(matchesEventPattern(validateEventPattern({ detail: { state: [{ prefix: 'st' }] } }), ec2Event({ state: [['a', ['b']], 'stopped'] }))).toBe(true);
    expect(matchesEventPattern(validateEventPattern({ detail: { state: { name: ['x'] } } }), ec2Event({ state: [[{ name: 'y' }], [[{ name: 'x' }]]] }))).toBe(true);
  });
});

interface InvalidPattern {
  readonly name: string;
  readonly pattern: unknown;
  readonly path: string;
  readonly reason: string;
}

const invalidPatterns: readonly InvalidPattern[] = [
  { name: 'a pattern that is not an object', pattern: ['aws.ec2'], path: '', reason: 'JSON object' },
  { name: 'an empty pattern', pattern: {}, path: '', reason: 'empty object' },
  { name: 'a leaf that is not an array', pattern: { source: 'aws.ec2' }, path: 'source', reason: 'array of values' },
  { name: 'an empty value list', pattern: { detail: { state: [] } }, path: 'detail.state', reason: 'empty array' },
  { name: 'an empty nested object', pattern: { detail: {} }, path: 'detail', reason: 'empty object' },
  { name: 'a nested array among the values', pattern: { detail: { state: [['a']] } }, path: 'detail.state[0]', reason: 'not an array' },
  { name: 'a non-finite number', pattern: { limit: [Number.POSITIVE_INFINITY] }, path: 'limit[0]', reason: 'not a JSON number' },
  {
    name: 'numeric without pairs',
    pattern: { detail: { status: [{ numeric: ['>', 0, '<='] }] } },
    path: 'detail.status[0]',
    reason: 'numeric needs pairs of operator and number',
  },
  { name: 'numeric with an unknown operator', pattern: { n: [{ numeric: ['=>', 1] }] }, path: 'n[0]', reason: 'unknown operator "=>"' },
  { name: 'numeric with a string bound', pattern: { n: [{ numeric: ['>', '1'] }] }, path: 'n[0]', reason: 'needs a number' },
  { name: 'numeric range upper bound first', pattern: { n: [{ numeric: ['<', 10, '>', 0] }] }, path: 'n[0]', reason: 'lower bound' },
  { name: 'numeric range with bottom above top', pattern: { n: [{ numeric: ['>', 5, '<', 1] }] }, path: 'n[0]', reason: 'below the upper bound' },
  { name: 'numeric with three comparisons', pattern: { n: [{ numeric: ['>', 0, '<', 5, '=', 3] }] }, path: 'n[0]', reason: 'range of two' },
  { name: 'an unknown operator', pattern: { detail: { state: [{ contains: 'run' }] } }, path: 'detail.state[0]', reason: 'unknown operator "contains"' },
  { name: 'two operators in one expression', pattern: { s: [{ prefix: 'a', suffix: 'b' }] }, path: 's[0]', reason: 'exactly one operator' },
  { name: 'prefix with a number', pattern: { s: ['x', { prefix: 5 }] }, path: 's[1]', reason: 'prefix takes a string' },
  { name: 'prefix with an unknown nested operator', pattern: { s: [{ prefix: { wildcard: 'a*' } }] }, path: 's[0]', reason: 'equals-ignore-case' },
  { name: 'wildcard with consecutive stars', pattern: { s: [{ wildcard: 'a**b' }] }, path: 's[0]', reason: 'consecutive "*"' },
  { name: 'wildcard with an escape other than \\* or \\\\', pattern: { s: [{ wildcard: 'a\\b' }] }, path: 's[0]', reason: 'may only escape' },
  { name: 'anything-but with a mixed list', pattern: { s: [{ 'anything-but': ['a', 1] }] }, path: 's[0]', reason: 'all strings or all numbers' },
  { name: 'anything-but null', pattern: { s: [{ 'anything-but': null }] }, path: 's[0]', reason: 'anything-but takes' },
  { name: 'anything-but with an empty prefix', pattern: { s: [{ 'anything-but': { prefix: '' } }] }, path: 's[0]', reason: 'must not be empty' },
  { name: 'anything-but nesting numeric', pattern: { s: [{ 'anything-but': { numeric: ['>', 1] } }] }, path: 's[0]', reason: 'anything-but nests' },
  { name: 'exists with a string', pattern: { s: [{ exists: 'yes' }] }, path: 's[0]', reason: 'true or false' },
  { name: 'cidr without mask bits', pattern: { ip: [{ cidr: '10.0.0.0' }] }, path: 'ip[0]', reason: 'address/mask-bits' },
  { name: 'cidr with a bad address', pattern: { ip: [{ cidr: 'bad/24' }] }, path: 'ip[0]', reason: 'not an IPv4 or IPv6 address' },
  { name: 'cidr with /32 (Event Ruler refuses it)', pattern: { ip: [{ cidr: '10.0.0.1/32' }] }, path: 'ip[0]', reason: 'below 32' },
  { name: '$or that is not an array', pattern: { $or: { a: ['1'] } }, path: '$or', reason: 'at least two objects' },
  { name: '$or with one branch', pattern: { detail: { $or: [{ a: ['1'] }] } }, path: 'detail.$or', reason: 'at least two objects' },
  { name: '$or with a branch that is not an object', pattern: { $or: [{ a: ['1'] }, ['b']] }, path: '$or[1]', reason: 'JSON object' },
  { name: '$or with an operator as a field name', pattern: { $or: [{ prefix: ['a'] }, { b: ['1'] }] }, path: '$or[0].prefix', reason: 'operator' },
];

describe('validateEventPattern', () => {
  it.each(invalidPatterns)('rejects $name, naming $path', ({ pattern, path, reason }) => {
    let thrown: unknown;
    try {
      validateEventPattern(pattern);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(EventPatternError);
    const error = thrown as EventPatternError;
    expect(error.code).toBe('BUS.INVALID_PATTERN');
    expect(error.path).toBe(path);
    expect(error.message).toContain(reason);
    expect(error.message.startsWith(`${path || '(root)'}: `)).toBe(true);
  });

  it('rejects a pattern nested deeper than 64 levels without recursing into it', () => {
    let deep: Record<string, unknown> = { leaf: ['x'] };
    for (let i = 0; i < 5_000; i++) deep = { a: deep };

    expect(() => validateEventPattern(deep)).toThrow(EventPatternError);
    expect(() => validateEventPattern(deep)).toThrow(/nests deeper than 64 levels/);
  });

  it('returns a frozen copy that matches as the original would', () => {
    const original = { source: ['aws.ec2'], detail: { state: [{ 'anything-but': 'initializing' }] } };
    const pattern = validateEventPattern(original);
    expect(pattern).toEqual(original);
    expect(pattern).not.toBe(original);
    expect(Object.isFrozen(pattern.detail)).toBe(true);
    expect(matchesEventPattern(pattern, ec2Event({ state: 'running' }))).toBe(true);
  });
});
