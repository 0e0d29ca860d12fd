# frozen_string_literal: true

module PuppetX
  module Autoami
    # Any failure talking to the sidecar, already phrased for the operator. `code` and
    # `field` are the sidecar's JSON-RPC error code and the parameter it blamed, when it
    # named one, so a caller can tell a refused value from an unreachable sidecar.
    class Error < StandardError
      attr_reader :code, :field

      def initialize(message, code = nil, field = nil)
        super(message)
        @code = code
        @field = field
      end
    end
  end
end
