package handlers

// BuildDomainEvent is domainEvent, for the test of the worst case of its
// size, which needs an order no single event can make.
var BuildDomainEvent = domainEvent
