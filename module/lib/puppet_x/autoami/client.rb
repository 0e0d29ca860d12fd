# frozen_string_literal: true

require 'io/wait'
require 'etc'
require 'json'
require 'socket'
require_relative 'config'
require_relative 'constants'
require_relative 'error'

module PuppetX
  module Autoami
    # The one Ruby client of the sidecar: faces and the report processor name a method and
    # its params, and everything about the socket stays here. One connection says `hello`,
    # then makes any number of calls; progress notifications go to the caller's block as
    # they arrive.
    class Client
      def self.open(timeout: 60)
        path = Config.path
        client = new(Config.socket_path(Config.load(path)), config_path: path, timeout: timeout)
        yield client
      ensure
        client&.close
      end

      def initialize(socket_path, config_path: Config.path, timeout: 60)
        @timeout = timeout
        @buffer = +''
        @next_id = 0
        begin
          @socket = UNIXSocket.new(socket_path)
        rescue SystemCallError => e
          raise Error, "cannot reach the autoami sidecar at #{socket_path} (#{e.class.name.split('::').last}): " \
                       "start it with `systemctl start autoami` or `autoami serve --config #{config_path}`"
        end
        call('hello', { 'protocol' => PROTOCOL, 'client' => "puppet #{Puppet.version}", 'user' => login }.compact)
      end

      # Who runs the face, recorded with what it promotes or rolls back; nothing when unknown.
      def login
        name = Etc.getpwuid(Process.euid)&.name
        name.to_s.empty? ? nil : name[0, 64]
      rescue ArgumentError, SystemCallError
        nil
      end

      def call(method, params = {}, timeout: @timeout)
        id = (@next_id += 1)
        write(JSON.generate('jsonrpc' => '2.0', 'id' => id, 'method' => method, 'params' => params))
        loop do
          message = JSON.parse(read_line(timeout))
          if message['method'] == 'progress'
            yield message['params'] if block_given?
          elsif message['id'] == id || message['id'].nil?
            error = message['error']
            return message['result'] unless error

            field = error['data'].is_a?(Hash) ? error['data']['field'] : nil
            raise Error.new(error['message'], error['code'], field)
          end
        end
      rescue JSON::ParserError => e
        raise Error, "the autoami sidecar sent a reply that is not JSON: #{e.message}"
      end

      def close
        @socket&.close
      rescue IOError
        nil
      end

      private

      def write(line)
        @socket.write(line, "\n")
      rescue SystemCallError, IOError => e
        raise Error, "lost the connection to the autoami sidecar: #{e.message}"
      end

      # One deadline for the whole line: a sidecar trickling bytes cannot stretch it.
      def read_line(timeout)
        deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
        until (newline = @buffer.index("\n"))
          left = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
          raise Error, "the autoami sidecar did not answer within #{timeout} s" if left <= 0 || !@socket.wait_readable(left)

          chunk = @socket.read_nonblock(65_536, exception: false)
          raise Error, 'the autoami sidecar closed the connection' if chunk.nil?

          @buffer << chunk unless chunk == :wait_readable
        end
        @buffer.slice!(0..newline).force_encoding(Encoding::UTF_8)
      end
    end
  end
end
