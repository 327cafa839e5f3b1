/**
 * The configuration `berth serve` uses without a file: filesystem storage under ./data,
 * every interface on port 5000, deletes enabled (a fresh private registry a team can clean up).
 */
export const embeddedDefaultConfig = `version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: ./data
  delete:
    enabled: true
http:
  addr: 0.0.0.0:5000
`;
