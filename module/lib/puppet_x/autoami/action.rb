# frozen_string_literal: true

require 'json'
require_relative 'client'
require_relative 'error'
require_relative 'render'

module PuppetX
  module Autoami
    class << self
      # Set by `puppet autoami` and `puppet node_aws`, so a sidecar failure ends the command
      # with one line; Ruby callers of a face get the exception instead.
      attr_accessor :command_line

      # Set when a result says the command failed (a bake under --wait): the application
      # exits 1 after printing it.
      attr_accessor :failed

      # Makes each of `names` (list options of an application's actions) add to its list when
      # repeated, `--kms-key A --kms-key B`, as `--kms-key A,B` does: Puppet keeps only the
      # last value of an option, so the application's handler for it is wrapped.
      def repeatable_lists(application, names)
        lists = Module.new do
          names.each do |name|
            define_method(:"handle_#{name}") { |value| options[name] = [options[name], value].compact.join(',') }
          end
        end
        application.prepend(lists)
      end
    end

    # A face action described by its generated spec: turns Puppet's options into method
    # params and the result into console text.
    class Action
      def initialize(spec)
        @spec = spec
      end

      def invoke(arguments, options)
        request = params(arguments, options)
        result = Client.open { |client| client.call(@spec['method'], request) { |progress| Render.progress(progress) } }
        fail_key = @spec['render']['failKey']
        PuppetX::Autoami.failed = true if fail_key && result.is_a?(Hash) && result[fail_key]
        result
      rescue Error => e
        raise unless PuppetX::Autoami.command_line

        Puppet.err(e.message)
        exit(1)
      end

      def render(result)
        render = @spec['render']
        case render['kind']
        when 'table'
          rows = render['rowsKey'] ? result[render['rowsKey']] : result
          Render.table(rows, render['columns'], render['empty'])
        when 'message' then Render.message(result, render['format'])
        else Render.record(result)
        end
      end

      # Only the options given reach the sidecar, so its defaults stay its own.
      def params(arguments, options)
        params = {}
        @spec['positional'].each_with_index { |name, index| params[name] = utf8(name, arguments[index]) }
        @spec['options'].each do |option|
          key = option['field'].to_sym
          params[option['field']] = coerce(option, utf8(option['field'], options[key])) if options.key?(key)
        end
        @spec['settings'].each { |setting| params[setting['field']] = Puppet[setting['setting'].to_sym] }
        params
      end

      private

      # Outside a UTF-8 locale a command line can carry any bytes, and JSON cannot: such a
      # value is refused here in the sidecar's own words, not deep inside the JSON generator.
      def utf8(field, value)
        return value unless value.is_a?(String) && !value.dup.force_encoding(Encoding::UTF_8).valid_encoding?

        raise Error.new("#{field}: is not valid UTF-8 text", -32_602, field)
      end

      # Command-line values arrive as strings; the sidecar judges anything that is not a
      # clean integer or list, so the error names the field in one place.
      def coerce(option, value)
        return value unless value.is_a?(String)
        return value.split(',', -1).map(&:strip) if option['type'] == 'string[]'
        return Integer(value, 10) if option['type'] == 'integer' && value.match?(/\A-?\d+\z/)

        value
      end
    end
  end
end
